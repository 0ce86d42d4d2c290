// Package labtest holds what the labs' own tests share: a runner on a fresh
// instance, the run in every mode, the table test for unusable --obj files
// and the paths of test objects.
package labtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// Runner is the runner behind `xdplab run`, on a fresh instance whose leftovers
// fail the test.
func Runner(t *testing.T) *labs.Runner {
	return &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
}

// labsDir is the labs/ directory of the source tree, wherever the test
// runs from.
func labsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Obj is the absolute path of an object in a lab's testdata: built as a
// learner builds it, by `make generate`, and committed so tests need no
// clang. Another lab's object is a fine "wrong program" for a lab.
func Obj(lab, name string) string {
	return filepath.Join(labsDir(), lab, "testdata", name)
}

// WrongNames is an XDP object whose program ("count") and map ("counters")
// have none of the tutorials' names: every lab must refuse it.
func WrongNames() string {
	return filepath.Join(labsDir(), "labtest", "testdata", "wrong_names.o")
}

// NotELF writes a file that is not an ELF object, as a learner's C source
// given to --obj by mistake, and returns its path.
func NotELF(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog.o")
	if err := os.WriteFile(p, []byte("int main() { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// PassesInEveryMode runs the lab through the runner, as `xdplab run LAB
// --mode M` does, in each mode its base exercise supports (once, in no
// mode, for a lab without XDP), and requires every expectation to pass.
func PassesInEveryMode(t *testing.T, lab string) {
	l, err := course.Registry().Get(lab)
	if err != nil {
		t.Fatal(err)
	}
	modes := l.Info().ForStep("").Modes
	if len(modes) == 0 {
		modes = []labs.Mode{""}
	}
	for _, mode := range modes {
		name := string(mode)
		if name == "" {
			name = "no mode"
		}
		t.Run(name, func(t *testing.T) {
			if rep := Passes(t, lab, labs.Options{Mode: mode}); rep.Mode != mode {
				t.Errorf("the report says mode %q, want %q", rep.Mode, mode)
			}
		})
	}
}

// Passes runs the lab with opts through the runner on a fresh instance, as
// `xdplab run` does, requires every expectation to pass, and returns the
// report.
func Passes(t *testing.T, lab string, opts labs.Options) *labs.Report {
	t.Helper()
	testutils.RequirePrivileged(t)
	reports, err := Runner(t).Run(context.Background(), []string{lab}, opts)
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
	return reports[0]
}

// BadObj is an --obj the lab must refuse, and what the refusal must say.
type BadObj struct {
	Name, Obj string
	Want      []string
	// NotBadObject marks failures before the object is read (a missing file):
	// they are not loader.ErrBadObject.
	NotBadObject bool
}

// RefusesBadObjects checks that both `run` and `up` refuse each object with a
// sentence naming what is wrong, before anything is created (the instance's
// cleanup checks that).
func RefusesBadObjects(t *testing.T, lab string, cases []BadObj) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			r := Runner(t)
			_, runErr := r.Run(context.Background(), []string{lab}, labs.Options{Obj: c.Obj})
			upErr := r.Up(context.Background(), lab, labs.Options{Obj: c.Obj})
			for _, err := range []error{runErr, upErr} {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, w := range c.Want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if !c.NotBadObject && !errors.Is(err, loader.ErrBadObject) {
					t.Errorf("error %q is not ErrBadObject", err)
				}
			}
		})
	}
}
