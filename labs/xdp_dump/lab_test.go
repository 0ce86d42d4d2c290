package xdpdump_test

import (
	"context"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// TestRun goes through the same path as `xdplab run xdp_dump`.
func TestRun(t *testing.T) {
	for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
		t.Run(string(mode), func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
			reports, err := r.Run(context.Background(), []string{"xdp_dump"}, labs.Options{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			for _, rep := range reports {
				_, _, text := rep.Describe()
				t.Log(text)
			}
			testutils.RequirePass(t, reports)
		})
	}
}
