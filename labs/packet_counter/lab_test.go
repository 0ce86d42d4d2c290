package packetcounter_test

import (
	"context"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/labtest"
	packetcounter "github.com/xdplab/xdplab/labs/packet_counter"
)

// TestRun goes through the same path as `xdplab run packet_counter`, in
// both modes.
func TestRun(t *testing.T) {
	labtest.PassesInEveryMode(t, "packet_counter")
}

// TestRunTutorialObject grades the tutorial's own object (legacy maps
// section) loaded with --obj.
func TestRunTutorialObject(t *testing.T) {
	labtest.Passes(t, "packet_counter", labs.Options{Obj: labtest.Obj("packet_counter", "legacy_packet_count.o")})
}

// TestBadObj: each unusable --obj is refused with a sentence naming what is
// wrong, before anything is created (the instance's cleanup checks that).
func TestBadObj(t *testing.T) {
	labtest.RefusesBadObjects(t, "packet_counter", []labtest.BadObj{
		{Name: "not an ELF", Obj: labtest.NotELF(t), Want: []string{"is not an ELF file", "clang -O2 -g -target bpf"}},
		{Name: "missing program and map", Obj: labtest.WrongNames(), Want: []string{
			`no program named "packet_count" (have: count)`, `no map named "protocols" (have: counters)`, "PerCPUArray"}},
		{Name: "a socket filter", Obj: labtest.Obj("sockex1", "sockex1_legacy.o"), Want: []string{`no program named "packet_count" (have: bpf_prog1)`}},
	})
}

func TestFormat(t *testing.T) {
	got := packetcounter.Format(map[uint32]uint64{17: 5, 1: 3, 200: 1})
	want := "IPPROTO_ICMP : 3\nIPPROTO_UDP : 5\nIPPROTO_200 : 1\n\n"
	if got != want {
		t.Errorf("Format = %q, want %q", got, want)
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
