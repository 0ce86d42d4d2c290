package labs

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// WriteText prints reports one expectation per line, with a hint under each
// failure, then a summary line per lab.
func WriteText(w io.Writer, reports []*Report) {
	for _, r := range reports {
		fmt.Fprintf(w, "%s (instance %s, %s mode)\n", r.Lab, r.Instance, r.Mode)
		for _, res := range r.Results {
			mark := "PASS"
			if !res.Pass {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "  %s  %s: expected %s, observed %s\n", mark, res.Name, res.Expected, res.Observed)
			if !res.Pass && res.Hint != "" {
				fmt.Fprintf(w, "        hint: %s\n", res.Hint)
			}
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  ERROR %s\n", r.Error)
		}
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "  %s: %d/%d expectations met in %s\n", verdict, r.Passed(), len(r.Results), r.Duration.Round(1e6))
	}
}

// WriteSummary prints the table `run` ends with.
func WriteSummary(w io.Writer, reports []*Report) {
	fmt.Fprintf(w, "\n%-16s %-8s %-6s %-8s %s\n", "LAB", "MODE", "RESULT", "CHECKS", "TIME")
	pass := 0
	for _, r := range reports {
		verdict := "FAIL"
		if r.Pass {
			verdict = "PASS"
			pass++
		}
		fmt.Fprintf(w, "%-16s %-8s %-6s %-8s %s\n", r.Lab, r.Mode, verdict,
			fmt.Sprintf("%d/%d", r.Passed(), len(r.Results)), r.Duration.Round(1e6))
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", pass, len(reports)-pass)
}

// WriteJSON writes reports as one JSON document for graders.
func WriteJSON(w io.Writer, reports []*Report) error {
	pass := true
	for _, r := range reports {
		pass = pass && r.Pass
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Pass    bool      `json:"pass"`
		Reports []*Report `json:"reports"`
	}{pass, reports})
}

// WriteJUnit writes reports as JUnit XML: one testsuite per lab, one
// testcase per expectation, so CI systems show labs like tests.
func WriteJUnit(w io.Writer, reports []*Report) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Failure   *failure `xml:"failure,omitempty"`
	}
	type testsuite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
		SysErr   string     `xml:"system-err,omitempty"`
	}
	type testsuites struct {
		XMLName xml.Name    `xml:"testsuites"`
		Suites  []testsuite `xml:"testsuite"`
	}
	var doc testsuites
	for _, r := range reports {
		s := testsuite{Name: r.Lab, Tests: len(r.Results), Time: fmt.Sprintf("%.3f", r.Duration.Seconds()), SysErr: r.Error}
		if r.Error != "" {
			s.Errors = 1
		}
		for _, res := range r.Results {
			tc := testcase{Name: res.Name, Classname: "xdplab." + r.Lab}
			if !res.Pass {
				s.Failures++
				tc.Failure = &failure{
					Message: fmt.Sprintf("expected %s, observed %s", res.Expected, res.Observed),
					Text:    strings.TrimSpace("hint: " + res.Hint),
				}
			}
			s.Cases = append(s.Cases, tc)
		}
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

// Describe summarizes a report for tests (testutils.RequirePass).
func (r *Report) Describe() (string, bool, string) {
	var b strings.Builder
	WriteText(&b, []*Report{r})
	return r.Lab, r.Pass, b.String()
}
