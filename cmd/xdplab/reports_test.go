package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/labtest"
)

// xdplabAs runs xdplab on an instance as sudo would for a learner: with
// SUDO_USER and SUDO_UID set.
func xdplabAs(t testing.TB, user, inst string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--instance", inst)...)
	cmd.Env = append(os.Environ(), "SUDO_USER="+user, "SUDO_UID=4242")
	return xdplabCmd(t, cmd)
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// jsonReport is what a grader reads of one report of `check --json`.
type jsonReport struct {
	Instance  string    `json:"instance"`
	Lab       string    `json:"lab"`
	Step      *string   `json:"step"` // nil when the key is missing
	User      string    `json:"user"`
	Hostname  string    `json:"hostname"`
	Timestamp time.Time `json:"timestamp"`
	Version   string    `json:"version"`
	Verdict   string    `json:"verdict"`
	Origin    struct {
		Kind   string `json:"kind"`
		Obj    string `json:"obj"`
		SHA256 string `json:"sha256"`
	} `json:"origin"`
}

func checkJSON(t testing.TB, r result) jsonReport {
	t.Helper()
	var doc struct {
		Reports []json.RawMessage `json:"reports"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Reports) != 1 {
		t.Fatalf("check --json: %v\n%s", err, r)
	}
	var rep jsonReport
	if err := json.Unmarshal(doc.Reports[0], &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// stateRecord reads a lab's state file as check and status find it.
func stateRecord(t testing.TB, inst, lab string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/run/xdplab", inst, lab+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestReportsSayWhoAndWhat: a report names the user behind sudo, the host,
// the time, xdplab's version and the program's origin, which up recorded:
// the embedded program's sha256, or the --obj file's path and sha256 as it
// was at up, so that the two reports differ in both.
func TestReportsSayWhoAndWhat(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	firstLine, _, _ := strings.Cut(mustSucceed(t, xdplabCmd(t, exec.Command(bin, "version"))).stdout, "\n")
	version := strings.TrimPrefix(firstLine, "xdplab ")
	host, _ := os.Hostname()
	embeddedSum := sha256File(t, filepath.Join("..", "..", "labs", "packet_counter", "bpf_bpfel.o"))

	mustSucceed(t, xdplabAs(t, "ann", inst, "up", "packet_counter"))
	before := time.Now()
	junit := filepath.Join(t.TempDir(), "ann.xml")
	embedded := checkJSON(t, mustSucceed(t, xdplabAs(t, "grader9", inst, "check", "packet_counter", "--json", "--junit", junit)))
	if embedded.Instance != inst || embedded.User != "grader9" || embedded.Hostname != host || embedded.Version != version ||
		embedded.Step == nil || *embedded.Step != "" {
		t.Errorf("report: instance %q user %q hostname %q version %q step %v; want %s, grader9 (SUDO_USER), %s, %q, \"\"",
			embedded.Instance, embedded.User, embedded.Hostname, embedded.Version, embedded.Step, inst, host, version)
	}
	if embedded.Timestamp.Before(before.Add(-time.Second)) || embedded.Timestamp.After(time.Now()) {
		t.Errorf("timestamp %v is not the check's time (%v)", embedded.Timestamp, before)
	}
	if embedded.Origin.Kind != "embedded" || embedded.Origin.SHA256 != embeddedSum || embedded.Origin.Obj != "" {
		t.Errorf("origin %+v, want embedded with the sha256 of labs/packet_counter/bpf_bpfel.o, %s", embedded.Origin, embeddedSum)
	}
	// Up recorded who brought the lab up and its program; check its result.
	rec := stateRecord(t, inst, "packet_counter")
	for key, want := range map[string]string{
		"owner":  `{"user":"ann","uid":4242}`,
		"origin": `{"kind":"embedded","sha256":"` + embeddedSum + `"}`,
	} {
		if got := strings.Join(strings.Fields(string(rec[key])), ""); got != want {
			t.Errorf("state %s = %s, want %s", key, got, want)
		}
	}
	var last struct {
		Verdict       string `json:"verdict"`
		Passed, Total int
		User          string `json:"user"`
	}
	json.Unmarshal(rec["last_check"], &last)
	if last.Verdict != "pass" || last.Passed != last.Total || last.Total == 0 || last.User != "grader9" {
		t.Errorf("state last_check = %s", rec["last_check"])
	}
	// The JUnit file says the same.
	xmlText, _ := os.ReadFile(junit)
	for _, want := range []string{
		`<testsuite name="xdplab.` + inst + `.packet_counter"`, `classname="xdplab.` + inst + `.packet_counter"`,
		`hostname="` + host + `"`, `<property name="user" value="grader9">`, `<property name="version" value="` + version + `">`,
		`<property name="step" value="base">`, `<property name="origin.sha256" value="` + embeddedSum + `">`,
	} {
		if !strings.Contains(string(xmlText), want) {
			t.Errorf("JUnit lacks %s:\n%s", want, xmlText)
		}
	}
	mustSucceed(t, xdplab(t, inst, "down", "packet_counter"))

	// The learner's object, from a relative path: recorded absolute.
	dir := t.TempDir()
	obj := filepath.Join(dir, "mine.o")
	data, err := os.ReadFile(labtest.Obj("packet_counter", "legacy_packet_count.o"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(obj, data, 0o644)
	objSum := sha256File(t, obj)
	up := exec.Command(bin, "up", "packet_counter", "--obj", "mine.o", "--instance", inst)
	up.Dir = dir
	mustSucceed(t, xdplabCmd(t, up))
	// A rebuild after up changes the file, not what is loaded.
	os.WriteFile(obj, append(data, 0), 0o644)
	r := xdplab(t, inst, "check", "packet_counter", "--json")
	learner := checkJSON(t, r)
	if learner.Origin.Kind != "obj" || learner.Origin.Obj != obj || learner.Origin.SHA256 != objSum {
		t.Errorf("origin %+v, want obj %s with sha256 %s (the file at up)\n%s", learner.Origin, obj, objSum, r)
	}
	if learner.Origin.Kind == embedded.Origin.Kind || learner.Origin.SHA256 == embedded.Origin.SHA256 {
		t.Errorf("the --obj report's origin %+v does not differ from the embedded one's %+v", learner.Origin, embedded.Origin)
	}
	text := mustSucceed(t, xdplab(t, inst, "check", "packet_counter"))
	if want := "  program: obj " + obj + " (sha256 " + objSum[:12] + ")\n"; !strings.Contains(text.stdout, want) {
		t.Errorf("the text report does not say whose program it graded (%q):\n%s", want, text)
	}
	mustSucceed(t, xdplab(t, inst, "down"))
}

// junitSuites is what a JUnit reader sees of a file.
type junitSuites struct {
	Suites []struct {
		Name  string `xml:"name,attr"`
		Tests int    `xml:"tests,attr"`
		Cases []struct {
			Classname string `xml:"classname,attr"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestJUnitOfAClassMergesApart: three learners' JUnit files, merged by a
// JUnit tool (junitparser, which folds suites that agree in name, host,
// timestamp and properties into one), keep three suites per lab, named by
// instance, and the merged file has the JUnit shape CI systems read.
func TestJUnitOfAClassMergesApart(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "junitparser")
	requireTool(t, "xmllint")
	dir := t.TempDir()
	labNames := []string{"packet_counter", "sockex1"}
	var insts, files []string
	for range 3 {
		inst := testutils.Instance(t)
		t.Cleanup(func() { xdplab(t, inst, "down") })
		insts = append(insts, inst)
		files = append(files, filepath.Join(dir, inst+".xml"))
	}
	var wg sync.WaitGroup
	results := make([]result, len(insts))
	for i, inst := range insts {
		wg.Go(func() {
			results[i] = xdplab(t, inst, append([]string{"run", "--junit", files[i]}, labNames...)...)
		})
	}
	wg.Wait()
	for _, r := range results {
		mustSucceed(t, r)
	}
	merged := filepath.Join(dir, "class.xml")
	run(t, "junitparser", append(append([]string{"merge"}, files...), merged)...)
	b, err := os.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("merged file: %v\n%s", err, b)
	}
	for _, lab := range labNames {
		var names []string
		for _, s := range doc.Suites {
			if strings.HasSuffix(s.Name, "."+lab) {
				names = append(names, s.Name)
				for _, c := range s.Cases {
					if c.Classname != s.Name {
						t.Errorf("suite %s has a testcase of class %s", s.Name, c.Classname)
					}
				}
			}
		}
		var want []string
		for _, inst := range insts {
			want = append(want, "xdplab."+inst+"."+lab)
		}
		slices.Sort(names)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("%s: merged suites %v, want one per instance %v", lab, names, want)
		}
	}
	// Nothing was lost in the merge: each suite has its own file's tests.
	for i, f := range files {
		var one junitSuites
		ob, _ := os.ReadFile(f)
		if err := xml.Unmarshal(ob, &one); err != nil {
			t.Fatal(err)
		}
		for _, s := range one.Suites {
			for _, m := range doc.Suites {
				if m.Name == s.Name && (m.Tests != s.Tests || len(m.Cases) != len(s.Cases)) {
					t.Errorf("%s of %s: %d tests merged, %d in its file", s.Name, insts[i], m.Tests, s.Tests)
				}
			}
		}
	}
	schema, _ := filepath.Abs(filepath.Join("testdata", "junit.xsd"))
	for _, f := range append(files, merged) {
		if out, err := exec.Command("xmllint", "--noout", "--schema", schema, f).CombinedOutput(); err != nil {
			t.Errorf("%s is not the JUnit shape: %v\n%s", f, err, out)
		}
	}
}

// classRow is one lab of `status --all-instances --json`.
type classRow struct {
	Lab   string `json:"lab"`
	State string `json:"state"`
	Step  string `json:"step"`
	Mode  string `json:"mode"`
	Owner struct {
		User string `json:"user"`
	} `json:"owner"`
	Origin struct {
		Kind   string `json:"kind"`
		SHA256 string `json:"sha256"`
	} `json:"origin"`
	LastCheck *struct {
		Verdict string    `json:"verdict"`
		Passed  int       `json:"passed"`
		Total   int       `json:"total"`
		At      time.Time `json:"at"`
	} `json:"last_check"`
}

// TestStatusAllInstances: the class view shows each of three instances up
// at once with its lab, owner, mode, program and last check, to root only,
// as `status --all-instances` and `list --instances` alike.
func TestStatusAllInstances(t *testing.T) {
	testutils.RequirePrivileged(t)
	type learner struct {
		user, lab, mode, inst string
		obj                   string
	}
	learners := []*learner{
		{user: "ann", lab: "packet_counter", mode: "generic"},
		{user: "ben", lab: "sockex1", obj: labtest.Obj("sockex1", "sockex1_legacy.o")},
		{user: "cat", lab: "xdp_dump", mode: "native"},
	}
	for _, l := range learners {
		l.inst = testutils.Instance(t)
		t.Cleanup(func() { xdplab(t, l.inst, "down") })
		args := []string{"up", l.lab}
		if l.mode != "" {
			args = append(args, "--mode", l.mode)
		}
		if l.obj != "" {
			args = append(args, "--obj", l.obj)
		}
		mustSucceed(t, xdplabAs(t, l.user, l.inst, args...))
	}
	checked := time.Now()
	mustSucceed(t, xdplabAs(t, "ann", learners[0].inst, "check"))

	byInstance := func(r result) map[string][]classRow {
		t.Helper()
		var class struct {
			Instances []struct {
				Instance string     `json:"instance"`
				Labs     []classRow `json:"labs"`
			} `json:"instances"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &class); err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		m := map[string][]classRow{}
		for _, i := range class.Instances {
			m[i.Instance] = i.Labs
		}
		return m
	}
	// Other instances may be up on the machine: only ours are judged.
	view := byInstance(mustSucceed(t, xdplabCmd(t, exec.Command(bin, "status", "--all-instances", "--json"))))
	for i, l := range learners {
		rows := view[l.inst]
		if len(rows) != 1 {
			t.Errorf("%s: %+v, want its one lab", l.inst, rows)
			continue
		}
		row := rows[0]
		wantKind, wantSum := "embedded", sha256File(t, filepath.Join("..", "..", "labs", l.lab, "bpf_bpfel.o"))
		if l.obj != "" {
			wantKind, wantSum = "obj", sha256File(t, l.obj)
		}
		if row.Lab != l.lab || row.State != "up" || row.Step != "" || row.Mode != l.mode || row.Owner.User != l.user ||
			row.Origin.Kind != wantKind || row.Origin.SHA256 != wantSum {
			t.Errorf("%s: %+v, want %s up, step \"\", mode %q, owner %s, origin %s %s", l.inst, row, l.lab, l.mode, l.user, wantKind, wantSum)
		}
		switch c := row.LastCheck; {
		case i == 0 && (c == nil || c.Verdict != "pass" || c.Passed != c.Total || c.At.Before(checked.Add(-time.Second))):
			t.Errorf("%s: last check %+v, want the pass just run", l.inst, c)
		case i > 0 && c != nil:
			t.Errorf("%s: last check %+v, but none ran", l.inst, c)
		}
	}
	alias := byInstance(mustSucceed(t, xdplabCmd(t, exec.Command(bin, "list", "--instances", "--json"))))
	for _, l := range learners {
		if len(alias[l.inst]) != 1 || alias[l.inst][0].Lab != l.lab {
			t.Errorf("list --instances: %s has %+v", l.inst, alias[l.inst])
		}
	}

	text := mustSucceed(t, xdplabCmd(t, exec.Command(bin, "status", "--all-instances"))).stdout
	lines := strings.Split(text, "\n")
	header := lines[0]
	for _, l := range learners {
		var line string
		for _, ln := range lines {
			if strings.HasPrefix(ln, l.inst+" ") {
				line = ln
			}
		}
		mode := l.mode
		if mode == "" {
			mode = "-"
		}
		last := "never"
		if l == learners[0] {
			last = "PASS "
		}
		program := "embedded (sha256 "
		if l.obj != "" {
			program = "obj " + l.obj
		}
		for col, want := range map[string]string{"LAB": l.lab, "STEP": "base", "MODE": mode, "OWNER": l.user, "STATE": "up", "LAST CHECK": last, "PROGRAM": program} {
			at := strings.Index(header, col)
			if at < 0 || len(line) < at || !strings.HasPrefix(line[at:], want) {
				t.Errorf("%s: column %s does not read %q:\n%s", l.inst, col, want, text)
			}
		}
	}

	// Root only, as status.
	for _, args := range [][]string{{"status", "--all-instances"}, {"list", "--instances"}} {
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		wantError(t, xdplabCmd(t, cmd), "needs root", "sudo xdplab "+strings.Join(args, " "))
	}
	for _, l := range learners {
		mustSucceed(t, xdplab(t, l.inst, "down"))
	}
}
