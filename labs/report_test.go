package labs_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/labs"
)

// errored is a report whose check stopped after two met expectations.
func errored() *labs.Report {
	return &labs.Report{
		Instance: "x", Lab: "packet_counter", Mode: labs.ModeGeneric,
		Results: []labs.Result{
			{Name: "a", Expected: "1", Observed: "1", Pass: true},
			{Name: "b", Expected: "2", Observed: "2", Pass: true},
		},
		Verdict: labs.VerdictError, Error: "tcp port 8888 in netns x-packet_counter-node1 is taken by pid 7 (nc): stop it and re-run",
		Duration: 1500 * time.Millisecond,
	}
}

func failed() *labs.Report {
	return &labs.Report{
		Instance: "x", Lab: "xdp_dump", Mode: labs.ModeGeneric,
		Results:  []labs.Result{{Name: "c", Expected: "1", Observed: "0", Hint: "h"}},
		Verdict:  labs.VerdictFail,
		Duration: time.Second,
	}
}

func TestErrorSummaryNeverReadsAsAFail(t *testing.T) {
	var b bytes.Buffer
	labs.WriteText(&b, []*labs.Report{errored()})
	want := "  ERROR: could not check: tcp port 8888 in netns x-packet_counter-node1 is taken by pid 7 (nc): stop it and re-run; " +
		"2 of 2 expectations met before it stopped (1.5s)\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("text report:\n%s\nwant it to end with:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "FAIL") {
		t.Errorf("an errored report with no failed expectation says FAIL:\n%s", b.String())
	}

	none := errored()
	none.Results = nil
	if got := none.Summary(); !strings.HasSuffix(got, "; no expectation was checked (1.5s)") {
		t.Errorf("summary without results: %q", got)
	}

	b.Reset()
	labs.WriteSummary(&b, []*labs.Report{errored(), failed()})
	for _, want := range []string{"packet_counter   generic  ERROR  2/2", "xdp_dump         generic  FAIL   0/1", "0 passed, 1 failed, 1 could not be checked"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestOutcome(t *testing.T) {
	pass := &labs.Report{Pass: true, Verdict: labs.VerdictPass}
	for _, tc := range []struct {
		reports []*labs.Report
		want    labs.Verdict
	}{
		{[]*labs.Report{pass}, labs.VerdictPass},
		{[]*labs.Report{pass, failed()}, labs.VerdictFail},
		// Could not check outweighs a failure, in either order.
		{[]*labs.Report{failed(), errored()}, labs.VerdictError},
		{[]*labs.Report{errored(), failed()}, labs.VerdictError},
	} {
		if got := labs.Outcome(tc.reports); got != tc.want {
			t.Errorf("Outcome = %s, want %s", got, tc.want)
		}
	}
}

func TestJSONOfAnErroredReport(t *testing.T) {
	var b bytes.Buffer
	if err := labs.WriteJSON(&b, []*labs.Report{errored(), failed()}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Pass    bool          `json:"pass"`
		Verdict labs.Verdict  `json:"verdict"`
		Reports []labs.Report `json:"reports"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Pass || doc.Verdict != labs.VerdictError || len(doc.Reports) != 2 {
		t.Fatalf("document: %s", b.String())
	}
	if r := doc.Reports[0]; r.Pass || r.Verdict != labs.VerdictError || !strings.Contains(r.Error, "taken by pid 7 (nc)") {
		t.Errorf("errored report: %+v", r)
	}
	if r := doc.Reports[1]; r.Pass || r.Verdict != labs.VerdictFail || r.Error != "" {
		t.Errorf("failed report: %+v", r)
	}
}

func TestJUnitOfAnErroredReport(t *testing.T) {
	var b bytes.Buffer
	if err := labs.WriteJUnit(&b, []*labs.Report{errored(), failed()}); err != nil {
		t.Fatal(err)
	}
	type problem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Cases    []struct {
				Name    string   `xml:"name,attr"`
				Failure *problem `xml:"failure"`
				Error   *problem `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("suites:\n%s", b.String())
	}
	s := doc.Suites[0]
	if s.Tests != 3 || s.Failures != 0 || s.Errors != 1 || len(s.Cases) != 3 {
		t.Fatalf("errored suite: tests %d failures %d errors %d\n%s", s.Tests, s.Failures, s.Errors, b.String())
	}
	last := s.Cases[2]
	if last.Error == nil || last.Failure != nil || last.Error.Type != "environment" ||
		last.Error.Message != "could not check: "+errored().Error {
		t.Errorf("the errored suite's last case has no <error> with the cause:\n%s", b.String())
	}
	if f := doc.Suites[1]; f.Errors != 0 || f.Failures != 1 || f.Cases[0].Failure == nil {
		t.Errorf("failed suite:\n%s", b.String())
	}
}

// TestSkippedExpectations: an expectation a bare lab cannot check is
// reported as SKIP with its reason, counted apart from the met ones, and
// as a JUnit <skipped>, never as a silent pass.
func TestSkippedExpectations(t *testing.T) {
	rep := &labs.Report{
		Instance: "x", Lab: "redirect", Mode: labs.ModeGeneric,
		Results: []labs.Result{
			{Name: "a", Expected: "1", Observed: "1", Pass: true},
			labs.Skip("without xdp_test", "3 replies", "your loader holds the attachment"),
		},
		Pass: true, Verdict: labs.VerdictPass, Duration: time.Second,
	}
	var b bytes.Buffer
	labs.WriteText(&b, []*labs.Report{rep})
	for _, want := range []string{
		"  SKIP  without xdp_test: not checked: your loader holds the attachment\n",
		"  PASS: 1/1 expectations met, 1 skipped in 1s\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	labs.WriteSummary(&b, []*labs.Report{rep})
	if !strings.Contains(b.String(), "redirect         generic  PASS   1/1") {
		t.Errorf("summary table:\n%s", b.String())
	}
	b.Reset()
	if err := labs.WriteJUnit(&b, []*labs.Report{rep}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`skipped="1"`, `<skipped message="your loader holds the attachment"></skipped>`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JUnit lacks %s:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := labs.WriteJSON(&b, []*labs.Report{rep}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"skipped": "your loader holds the attachment"`) {
		t.Errorf("JSON:\n%s", b.String())
	}
}
