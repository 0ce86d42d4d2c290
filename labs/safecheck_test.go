package labs

import (
	"context"
	"strings"
	"testing"
)

// panicking is a lab whose check has a bug: it indexes past a slice.
type panicking struct{ Lab }

func (panicking) Info() Info { return Info{Name: "buggy"} }

func (panicking) Check(ctx context.Context, env *Env) ([]Result, error) {
	var from []int
	_ = from[0]
	return nil, nil
}

// TestCheckPanicIsAnError: a bug in a lab's check is reported as an error
// (could not check) that names the lab and asks for a report, so `run`
// still takes the lab down instead of crashing with it up.
func TestCheckPanicIsAnError(t *testing.T) {
	_, err := safeCheck(t.Context(), panicking{}, &Env{})
	if err == nil {
		t.Fatal("a check that panics returned no error")
	}
	for _, want := range []string{"the check of buggy crashed (runtime error: index out of range [0] with length 0)", "this is a bug in xdplab", "safecheck_test.go"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestInterruptedFailuresNotJudged: an interrupted check's failures become
// expectations not checked, with the reason; its passes stay.
func TestInterruptedFailuresNotJudged(t *testing.T) {
	results := []Result{
		{Name: "pings answered", Expected: "3", Observed: "3", Pass: true},
		{Name: "one event", Expected: "1", Observed: "0", Hint: "the TCP header starts ip->ihl * 4 bytes after the IPv4 header"},
		Skip("the event's tuple", "a tuple", "no event to read it from"),
	}
	unjudge(results)
	if !results[0].Pass || results[0].Skipped != "" {
		t.Errorf("a pass changed: %+v", results[0])
	}
	if r := results[1]; !r.Pass || r.Skipped != "not judged: the check was interrupted before its traffic was complete" || r.Hint != "" {
		t.Errorf("a failure of an interrupted check: %+v", r)
	}
	if results[2].Skipped != "no event to read it from" {
		t.Errorf("a skip changed its reason: %+v", results[2])
	}
}
