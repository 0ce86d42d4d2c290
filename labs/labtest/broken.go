package labtest

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
)

// CheckAfter ups the lab on a fresh instance, lets prepare change what the
// check will meet (the network, say), checks the lab and takes it down. It
// returns the lab's report, which must be a verdict: a check that could not
// run fails the test.
func CheckAfter(t *testing.T, lab string, opts labs.Options, prepare func(t *testing.T, env *labs.Env)) *labs.Report {
	t.Helper()
	testutils.RequirePrivileged(t)
	r := Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, lab, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := r.Down(ctx, lab); err != nil {
			t.Error(err)
		}
	})
	_, env, err := r.Open(lab)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Topo.Close()
	prepare(t, env)
	reports, err := r.Check(ctx, lab)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("want one report, got %d", len(reports))
	}
	if reports[0].Error != "" {
		t.Fatalf("want a verdict, the check could not run: %s", reports[0].Error)
	}
	return reports[0]
}

// Unreachable adds a route of type unreachable for the address of role to
// in the node of role from: sending there from that node fails at once
// with "no route to host", as on a broken network, through no fault of the
// lab's program. The namespace goes with the lab.
func Unreachable(t *testing.T, env *labs.Env, from, to string) {
	t.Helper()
	src, dst := env.Topo.MustRole(from), env.Topo.MustRole(to)
	route := &netlink.Route{
		Dst:  &net.IPNet{IP: dst.Addr.Addr().AsSlice(), Mask: net.CIDRMask(32, 32)},
		Type: unix.RTN_UNREACHABLE,
	}
	if err := src.NS.Netlink().RouteAdd(route); err != nil {
		t.Fatalf("unreachable route to %s in %s: %v", dst.Addr.Addr(), src.NS.Name, err)
	}
}

// Judged is what a test expects of one result of a report: its verdict,
// and how its observed text starts.
type Judged struct {
	Name     string
	Pass     bool
	Observed string
}

// RequireJudged checks that the report holds a result for each of want,
// judged so, and that each failed one has a hint.
func RequireJudged(t *testing.T, rep *labs.Report, want []Judged) {
	t.Helper()
	got := map[string]labs.Result{}
	for _, r := range rep.Results {
		got[r.Name] = r
	}
	for _, w := range want {
		r, ok := got[w.Name]
		switch {
		case !ok:
			_, _, text := rep.Describe()
			t.Errorf("no expectation %q:\n%s", w.Name, text)
		case r.Pass != w.Pass || !strings.HasPrefix(r.Observed, w.Observed):
			t.Errorf("%q: pass %v, observed %q; want pass %v, observed %q...", w.Name, r.Pass, r.Observed, w.Pass, w.Observed)
		case !r.Pass && r.Hint == "":
			t.Errorf("%q fails without a hint", w.Name)
		}
	}
}
