package labs_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/labs"
)

// who is a report with every "who and what" field set.
func who(inst, lab string, origin provenance.Origin) *labs.Report {
	return &labs.Report{
		Instance: inst, Lab: lab, Mode: labs.ModeGeneric, Origin: origin,
		User: "learner7", Hostname: "lab-vm", Timestamp: time.Date(2025, 3, 4, 10, 11, 12, 0, time.UTC),
		Version: "v1.2.0 go1.26.8", Commit: "0123456789abcdef0123456789abcdef01234567",
		Results:  []labs.Result{{Name: "counts", Expected: "3", Observed: "3", Pass: true}},
		Pass:     true,
		Verdict:  labs.VerdictPass,
		Duration: 2 * time.Second,
	}
}

type junitDoc struct {
	Suites []struct {
		Name       string `xml:"name,attr"`
		Hostname   string `xml:"hostname,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestJUnitSaysWhoAndWhat: the suite and its classnames carry the instance,
// and the suite's attributes and properties who checked which program.
func TestJUnitSaysWhoAndWhat(t *testing.T) {
	origin := provenance.Origin{Kind: provenance.KindObj, Obj: "/home/ann/fw.o", SHA256: strings.Repeat("ab", 32)}
	var b bytes.Buffer
	if err := labs.WriteJUnit(&b, []*labs.Report{who("ann", "basic_firewall", origin)}); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("%v\n%s", err, b.String())
	}
	s := doc.Suites[0]
	if s.Name != "xdplab.ann.basic_firewall" || s.Cases[0].Classname != "xdplab.ann.basic_firewall" {
		t.Errorf("suite %q, classname %q: want both xdplab.ann.basic_firewall", s.Name, s.Cases[0].Classname)
	}
	if s.Hostname != "lab-vm" || s.Timestamp != "2025-03-04T10:11:12Z" {
		t.Errorf("hostname %q timestamp %q", s.Hostname, s.Timestamp)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	for name, want := range map[string]string{
		"instance": "ann", "lab": "basic_firewall", "step": "base", "mode": "generic",
		"user": "learner7", "hostname": "lab-vm", "timestamp": "2025-03-04T10:11:12Z",
		"version": "v1.2.0 go1.26.8", "commit": "0123456789abcdef0123456789abcdef01234567",
		"origin": "obj", "origin.obj": "/home/ann/fw.o", "origin.sha256": strings.Repeat("ab", 32),
	} {
		if props[name] != want {
			t.Errorf("property %s = %q, want %q\n%s", name, props[name], want, b.String())
		}
	}
	if _, ok := props["origin.src"]; ok {
		t.Errorf("a property for a value the report lacks:\n%s", b.String())
	}
}

// TestJSONSaysWhoAndWhat: each report of the JSON document stands alone
// with who checked which program, when, with which xdplab.
func TestJSONSaysWhoAndWhat(t *testing.T) {
	embedded := provenance.Embedded([]byte("the lab's program"))
	var b bytes.Buffer
	if err := labs.WriteJSON(&b, []*labs.Report{who("ann", "packet_counter", embedded)}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Reports []map[string]any `json:"reports"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Reports[0]
	for key, want := range map[string]any{
		"instance": "ann", "user": "learner7", "hostname": "lab-vm", "timestamp": "2025-03-04T10:11:12Z",
		"version": "v1.2.0 go1.26.8", "commit": "0123456789abcdef0123456789abcdef01234567", "step": "",
	} {
		if got, ok := r[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %q\n%s", key, got, ok, want, b.String())
		}
	}
	origin, _ := r["origin"].(map[string]any)
	if origin["kind"] != "embedded" || origin["sha256"] != embedded.SHA256 {
		t.Errorf("origin = %v, want embedded with sha256 %s", origin, embedded.SHA256)
	}
}

// TestJSONListsAreNeverNull marshals every JSON output type through the
// one writer that every --json goes through, empty and with one empty
// element in each list, and finds no null: a grader's loop needs no null
// check.
func TestJSONListsAreNeverNull(t *testing.T) {
	for _, v := range []any{
		labs.Report{}, labs.Status{}, labs.LabStatus{}, labs.NodeStatus{}, labs.IfaceStatus{},
		labs.MapStatus{}, labs.Class{}, labs.InstanceView{}, labs.ClassLab{}, state.Lab{},
		struct {
			Reports []*labs.Report `json:"reports"`
			Values  map[string][]string
		}{},
	} {
		typ := reflect.TypeOf(v)
		for _, filled := range []bool{false, true} {
			val := reflect.New(typ).Elem()
			if filled {
				val = deepEmpty(typ, 4)
			}
			var b bytes.Buffer
			if err := labs.WriteJSONValue(&b, val.Interface()); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if strings.Contains(b.String(), "null") {
				t.Errorf("%s (lists filled: %v) has a null:\n%s", typ, filled, b.String())
			}
		}
	}
	// Nothing to report is an empty list too.
	var b bytes.Buffer
	labs.WriteJSON(&b, nil)
	if !strings.Contains(b.String(), `"reports": []`) {
		t.Errorf("WriteJSON(nil):\n%s", b.String())
	}
}

// deepEmpty is a value of t whose pointers point at such values, and whose
// lists hold one such element each (down to depth), so that the lists of
// the element types are marshalled too; their own lists stay nil.
func deepEmpty(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if depth == 0 || t == reflect.TypeFor[time.Time]() {
		return v
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		p.Elem().Set(deepEmpty(t.Elem(), depth-1))
		return p
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				v.Field(i).Set(deepEmpty(t.Field(i).Type, depth-1))
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return v
		}
		s := reflect.MakeSlice(t, 1, 1)
		s.Index(0).Set(deepEmpty(t.Elem(), depth-1))
		return s
	}
	return v
}
