package labs

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xdplab/xdplab/internal/provenance"
)

// WriteText prints reports one expectation per line, with a hint under each
// failure, then a summary line per lab.
func WriteText(w io.Writer, reports []*Report) {
	for _, r := range reports {
		fmt.Fprintf(w, "%s (instance %s%s)\n", r.Lab, r.Instance, ModeNote(r.Mode))
		if r.Origin.Kind != provenance.KindEmbedded && r.Origin.Kind != "" {
			// The learner's own program: say which, so a grade is never
			// taken for the reference program's.
			fmt.Fprintf(w, "  program: %s\n", r.Origin)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", r.Note)
		}
		for _, res := range r.Results {
			writeResult(w, res)
		}
		verdict, rest, _ := strings.Cut(r.Summary(), ":")
		fmt.Fprintf(w, "  %s:%s\n", paint(w, verdict), rest)
	}
}

// writeResult prints one expectation's line, with the hint of a failure
// under it.
func writeResult(w io.Writer, res Result) {
	if res.Skipped != "" {
		fmt.Fprintf(w, "  %s  %s: not checked: %s\n", paint(w, "SKIP"), res.Name, res.Skipped)
		return
	}
	mark := "PASS"
	if !res.Pass {
		mark = "FAIL"
	}
	fmt.Fprintf(w, "  %s  %s: expected %s, observed %s\n", paint(w, mark), res.Name, res.Expected, res.Observed)
	if !res.Pass && res.Hint != "" {
		fmt.Fprintf(w, "        hint: %s\n", res.Hint)
	}
}

// Summary is a report's last line: the verdict, and how many expectations
// were met, or for a check that could not run, why and how far it got.
func (r *Report) Summary() string {
	took := r.Duration.Round(time.Millisecond)
	skipped := ""
	if n := len(r.Results) - r.Checked(); n > 0 {
		skipped = fmt.Sprintf(", %d skipped", n)
	}
	if r.Verdict != VerdictError {
		return fmt.Sprintf("%s: %d/%d expectations met%s in %s", strings.ToUpper(string(r.Verdict)), r.Passed(), r.Checked(), skipped, took)
	}
	got := "no expectation was checked"
	if len(r.Results) > 0 {
		got = fmt.Sprintf("%d of %d expectations met%s before it stopped", r.Passed(), r.Checked(), skipped)
	}
	return fmt.Sprintf("ERROR: could not check: %s; %s (%s)", r.Error, got, took)
}

// WriteSummary prints the table `run` ends with.
func WriteSummary(w io.Writer, reports []*Report) {
	fmt.Fprintf(w, "\n%-16s %-8s %-6s %-8s %s\n", "LAB", "MODE", "RESULT", "CHECKS", "TIME")
	count := map[Verdict]int{}
	for _, r := range reports {
		count[r.Verdict]++
		mode := string(r.Mode)
		if mode == "" {
			mode = "-" // no XDP: the lab runs in no mode
		}
		result := strings.ToUpper(string(r.Verdict))
		// Padded before it is painted: the colour codes take no column.
		result = paint(w, result) + strings.Repeat(" ", max(0, 6-len(result)))
		fmt.Fprintf(w, "%-16s %-8s %s %-8s %s\n", r.Lab, mode, result,
			fmt.Sprintf("%d/%d", r.Passed(), r.Checked()), r.Duration.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "%d passed, %d failed", count[VerdictPass], count[VerdictFail])
	if n := count[VerdictError]; n > 0 {
		fmt.Fprintf(w, ", %d could not be checked (ERROR above)", n)
	}
	fmt.Fprintln(w)
}

// WriteJSON writes reports as one JSON document for graders: pass is true
// only when every report passed, verdict is Outcome's.
func WriteJSON(w io.Writer, reports []*Report) error {
	verdict := Outcome(reports)
	return WriteJSONValue(w, struct {
		Pass    bool      `json:"pass"`
		Verdict Verdict   `json:"verdict"`
		Reports []*Report `json:"reports"`
	}{verdict == VerdictPass, verdict, reports})
}

// WriteJUnit writes reports as JUnit XML: one testsuite per lab, one
// testcase per expectation, so CI systems show labs like tests. A check that
// could not run adds a testcase with an <error>, which CI systems tell apart
// from a <failure>.
//
// Suites and classnames are "xdplab.<instance>.<lab>", and each suite has
// the hostname and timestamp attributes and properties for who checked what
// (user, version, step, origin): JUnit tools merge suites that agree on
// those, and the files of a class must stay apart when merged.
func WriteJUnit(w io.Writer, reports []*Report) error {
	type problem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Failure   *problem `xml:"failure,omitempty"`
		Error     *problem `xml:"error,omitempty"`
		Skipped   *problem `xml:"skipped,omitempty"`
	}
	type property struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	type testsuite struct {
		Name       string     `xml:"name,attr"`
		Tests      int        `xml:"tests,attr"`
		Failures   int        `xml:"failures,attr"`
		Errors     int        `xml:"errors,attr"`
		Skipped    int        `xml:"skipped,attr,omitempty"`
		Time       string     `xml:"time,attr"`
		Timestamp  string     `xml:"timestamp,attr"`
		Hostname   string     `xml:"hostname,attr"`
		Properties []property `xml:"properties>property"`
		Cases      []testcase `xml:"testcase"`
	}
	type testsuites struct {
		XMLName xml.Name    `xml:"testsuites"`
		Suites  []testsuite `xml:"testsuite"`
	}
	var doc testsuites
	for _, r := range reports {
		name := r.SuiteName()
		s := testsuite{
			Name: name, Time: fmt.Sprintf("%.3f", r.Duration.Seconds()),
			Timestamp: r.Timestamp.Format(time.RFC3339), Hostname: r.Hostname,
		}
		for _, p := range r.properties() {
			s.Properties = append(s.Properties, property{p[0], p[1]})
		}
		for _, res := range r.Results {
			tc := testcase{Name: res.Name, Classname: name}
			if res.Skipped != "" {
				s.Skipped++
				tc.Skipped = &problem{Message: res.Skipped}
			}
			if !res.Pass {
				s.Failures++
				tc.Failure = &problem{
					Message: fmt.Sprintf("expected %s, observed %s", res.Expected, res.Observed),
					Text:    strings.TrimSpace("hint: " + res.Hint),
				}
			}
			s.Cases = append(s.Cases, tc)
		}
		if r.Verdict == VerdictError {
			s.Errors++
			s.Cases = append(s.Cases, testcase{
				Name: "the check runs to its end", Classname: name,
				Error: &problem{Message: "could not check: " + r.Error, Type: "environment", Text: r.Summary()},
			})
		}
		s.Tests = len(s.Cases)
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// SuiteName is the report's JUnit suite and classname,
// "xdplab.<instance>.<lab>": unique on a machine, so that the files of 30
// learners merged into one keep 30 suites per lab.
func (r *Report) SuiteName() string { return "xdplab." + r.Instance + "." + r.Lab }

// properties are the JUnit properties of a report: who checked what, as
// name/value pairs. Values a report does not have are left out, but for the
// step, whose "" is written as the base exercise is called.
func (r *Report) properties() [][2]string {
	o := r.Origin
	var id string
	if o.ProgID != 0 {
		id = fmt.Sprint(o.ProgID)
	}
	var props [][2]string
	for _, p := range [][2]string{
		{"instance", r.Instance}, {"lab", r.Lab}, {"step", stepLabel(r.Step)}, {"mode", string(r.Mode)},
		{"user", r.User}, {"hostname", r.Hostname}, {"timestamp", r.Timestamp.Format(time.RFC3339Nano)},
		{"version", r.Version}, {"commit", r.Commit},
		{"origin", string(o.Kind)}, {"origin.obj", o.Obj}, {"origin.sha256", o.SHA256},
		{"origin.src", o.Src}, {"origin.src_sha256", o.SrcSHA256},
		{"origin.prog_id", id}, {"origin.tag", o.Tag}, {"origin.program", o.Program},
	} {
		if p[1] != "" {
			props = append(props, p)
		}
	}
	return props
}

// stepLabel is a step's name as people are shown it: "base" for "", the
// lab's base exercise.
func stepLabel(step string) string { return Step{Name: step}.Title() }

// Describe summarizes a report for tests (testutils.RequirePass).
func (r *Report) Describe() (string, bool, string) {
	var b strings.Builder
	WriteText(&b, []*Report{r})
	return r.Lab, r.Pass, b.String()
}
