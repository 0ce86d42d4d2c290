package labtest

import (
	"context"
	"sync"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
)

// ChecksAtOnce brings lab up in n instances of its own for each step and
// checks them all at the same moment: every check must pass. A tracing
// program sees every instance's activity, so a check that counted what
// was not its own would fail here. Run with -count=10 to see that it holds
// every time.
func ChecksAtOnce(t *testing.T, lab string, n int, steps ...string) {
	testutils.RequirePrivileged(t)
	for _, step := range steps {
		t.Run(labs.Step{Name: step}.Title(), func(t *testing.T) {
			runners := make([]*labs.Runner, n)
			for i := range runners {
				r := Runner(t)
				runners[i] = r
				if err := r.Up(context.Background(), lab, labs.Options{Step: step}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if _, err := r.Down(context.Background(), lab); err != nil {
						t.Error(err)
					}
				})
			}
			var (
				wg      sync.WaitGroup
				start   = make(chan struct{})
				reports = make([][]*labs.Report, n)
				errs    = make([]error, n)
			)
			for i, r := range runners {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					reports[i], errs[i] = r.Check(context.Background(), lab)
				}()
			}
			close(start)
			wg.Wait()
			for i, r := range runners {
				if errs[i] != nil {
					t.Fatalf("instance %s: %v", r.Instance, errs[i])
				}
				if rep := reports[i][0]; rep.Verdict != labs.VerdictPass {
					_, _, text := rep.Describe()
					t.Errorf("instance %s: %s", r.Instance, text)
				}
			}
		})
	}
}
