package course_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// TestCheckInterruptedAnywhere: every lab's check, interrupted at points
// spread over its whole run, ends with the interruption as its error (or
// passes, when it finished first) and never panics; whatever the check
// changed for a moment is put back, so the next check passes. A check that
// assumes each of its steps completed crashes here.
func TestCheckInterruptedAnywhere(t *testing.T) {
	testutils.RequirePrivileged(t)
	reg := course.Registry()
	for _, lab := range reg.Names() {
		t.Run(lab, func(t *testing.T) {
			r := &labs.Runner{Registry: reg, Instance: testutils.Instance(t)}
			ctx := context.Background()
			t.Cleanup(func() { r.Down(ctx, lab) })
			if err := r.Up(ctx, lab, labs.Options{}); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			mustPass(t, r, lab)
			took := time.Since(began)
			const points = 12
			for i := range points {
				at := took * time.Duration(i) / points
				cctx, cancel := context.WithTimeout(ctx, at)
				reports, err := r.Check(cctx, lab)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) && len(reports) == 0 {
					t.Fatalf("check interrupted after %v: %v", at, err)
				}
				for _, rep := range reports {
					if strings.Contains(rep.Error, "crashed") {
						t.Errorf("check interrupted after %v crashed:\n%s", at, rep.Error)
					}
					if rep.Verdict == labs.VerdictFail {
						t.Errorf("check interrupted after %v failed without an error, as if the program were wrong:\n%+v", at, rep.Results)
					}
				}
			}
			mustPass(t, r, lab)
		})
	}
}

func mustPass(t *testing.T, r *labs.Runner, lab string) {
	t.Helper()
	reports, err := r.Check(context.Background(), lab)
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
}
