package topology_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/topology"
)

func TestShapesValidate(t *testing.T) {
	for _, n := range []int{2, 8, 128, 300} {
		for _, s := range []topology.Spec{topology.Line(n), topology.Star(n)} {
			if err := s.Validate(); err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
		}
	}
}

func TestDeployStar(t *testing.T) {
	_, d := deploy(t, topology.Star(8), "star")
	links, err := d.MustNS("hub").Netlink().LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 8 { // lo + 7 spokes
		t.Errorf("hub has %d links, want 8", len(links))
	}
}

func benchDeploy(b *testing.B, shape func(int) topology.Spec) {
	for _, n := range []int{2, 8, 32, 128} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			testutils.RequirePrivileged(b)
			inst := testutils.Instance(b)
			r, err := topology.Resolve(shape(n), inst, "scale")
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				d, err := r.Deploy(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				d.Close()
				if err := r.Destroy(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1e6, "ms/node")
		})
	}
}

// BenchmarkDeployLine and BenchmarkDeployStar measure deploy+destroy against
// the number of nodes; the report plots them.
func BenchmarkDeployLine(b *testing.B) { benchDeploy(b, topology.Line) }
func BenchmarkDeployStar(b *testing.B) { benchDeploy(b, topology.Star) }
