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
