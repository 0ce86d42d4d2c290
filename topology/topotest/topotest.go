// Package topotest deploys topologies for tests that need a network of their own.
package topotest

import (
	"context"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/topology"
)

// Deploy builds spec for one test on a fresh instance, named lab, and
// destroys it when the test ends.
func Deploy(tb testing.TB, spec topology.Spec, lab string) *topology.Deployed {
	tb.Helper()
	testutils.RequirePrivileged(tb)
	r, err := topology.Resolve(spec, testutils.Instance(tb), lab)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := r.Deploy(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		d.Close()
		if err := r.Destroy(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return d
}
