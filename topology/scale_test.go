package topology_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/topology"
)

func TestShapesValidate(t *testing.T) {
	for _, n := range []int{1, 2, 8, 128, 300, 4096} {
		for _, shape := range []string{"line", "star"} {
			s, err := topology.Scaled(shape, n)
			if err != nil {
				t.Fatalf("%s %d: %v", shape, n, err)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
		}
	}
}

// TestDeployStar: a hub with many links comes up; at 128 its link
// notifications overflow their socket (ENOBUFS), and the deploy must still
// see every link up.
func TestDeployStar(t *testing.T) {
	for _, n := range []int{8, 128} {
		star, err := topology.Scaled("star", n)
		if err != nil {
			t.Fatal(err)
		}
		_, d := deploy(t, star, "star")
		links, err := d.MustNS("hub").Netlink().LinkList()
		if err != nil {
			t.Fatal(err)
		}
		if len(links) != n { // lo + n-1 spokes
			t.Errorf("hub has %d links, want %d", len(links), n)
		}
	}
}

func benchDeploy(b *testing.B, shape string) {
	for _, n := range []int{2, 8, 32, 128} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			testutils.RequirePrivileged(b)
			inst := testutils.Instance(b)
			spec, err := topology.Scaled(shape, n)
			if err != nil {
				b.Fatal(err)
			}
			r, err := topology.Resolve(spec, inst, "scale")
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
func BenchmarkDeployLine(b *testing.B) { benchDeploy(b, "line") }
func BenchmarkDeployStar(b *testing.B) { benchDeploy(b, "star") }
