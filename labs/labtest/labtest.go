// Package labtest holds what the labs' own tests share: a runner on a fresh
// instance and the table test for unusable --obj files.
package labtest

import (
	"context"
	"errors"
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
