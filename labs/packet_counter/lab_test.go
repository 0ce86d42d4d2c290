package packetcounter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	packetcounter "github.com/xdplab/xdplab/labs/packet_counter"
)

// TestRun goes through the same path as `xdplab run packet_counter`.
func TestRun(t *testing.T) {
	for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
		t.Run(string(mode), func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
			reports, err := r.Run(context.Background(), []string{"packet_counter"}, labs.Options{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			testutils.RequirePass(t, reports)
		})
	}
}

func TestFormat(t *testing.T) {
	got := packetcounter.Format(map[uint32]uint64{17: 5, 1: 3, 200: 1})
	want := "IPPROTO_ICMP : 3\nIPPROTO_UDP : 5\nIPPROTO_200 : 1\n\n"
	if got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if !strings.Contains(packetcounter.New().Guide(), "packet_counter") {
		t.Error("guide is not embedded")
	}
}

// BenchmarkUpDown is `up` and `down` of the lab in process: the part of the
// command-line figure that is xdplab's own work rather than process start.
func BenchmarkUpDown(b *testing.B) {
	testutils.RequirePrivileged(b)
	r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(b)}
	ctx := context.Background()
	for b.Loop() {
		if err := r.Up(ctx, "packet_counter", labs.Options{}); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Down(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
}
