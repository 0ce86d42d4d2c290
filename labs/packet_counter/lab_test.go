package packetcounter_test

import (
	"context"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/grade"
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

// TestTrafficStepFails: a program that counts right but drops UDP fails
// the delivery of the datagrams, as a failed expectation whose hint says
// what the program returned for them (exit 1, not "could not check"), and
// every other expectation, the UDP counter and the steps after it
// included, is still judged and passes.
func TestTrafficStepFails(t *testing.T) {
	testutils.RequirePrivileged(t)
	reports, err := labtest.Runner(t).Run(context.Background(), []string{"packet_counter"},
		labs.Options{Obj: labtest.Obj("packet_counter", "drops_udp.o")})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	if r := reports[0]; r.Verdict != labs.VerdictFail || r.Error != "" {
		t.Fatalf("verdict %s, error %q; want a failure without error", r.Verdict, r.Error)
	}
	_, _, text := reports[0].Describe()
	var failed []labs.Result
	for _, r := range reports[0].Results {
		if !r.Pass {
			failed = append(failed, r)
		}
	}
	want := labs.Result{
		Name: "5 UDP datagrams host -> 192.168.0.2:9 arrive", Expected: "5 of 5 datagrams arrived", Observed: "0 of 5 datagrams arrived",
		Hint: "the program returns XDP_DROP for the datagrams host sent (BPF_PROG_TEST_RUN on them): " +
			"XDP_DROP discards them before node1's stack sees them; return XDP_PASS for them",
	}
	if len(failed) != 1 || failed[0] != want || len(reports[0].Results) != 9 {
		t.Errorf("want 9 expectations with only this one failed: %+v\n%s", want, text)
	}
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
	got := packetcounter.Format(grade.Counters[uint32]{17: 5, 1: 3, 200: 1, 6: 0})
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

// TestSteps: every step's own program passes its check, in both modes.
func TestSteps(t *testing.T) {
	for _, step := range []string{"drop_icmp", "ipv6"} {
		t.Run(step, func(t *testing.T) {
			for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
				t.Run(string(mode), func(t *testing.T) {
					labtest.Passes(t, "packet_counter", labs.Options{Mode: mode, Step: step})
				})
			}
		})
	}
}

// TestExercises: for the base exercise and each step, the starter that
// init writes compiles, loads and fails check with hints naming its TODOs;
// the solution passes; in both modes.
func TestExercises(t *testing.T) {
	labtest.ExercisesGraded(t, "packet_counter")
}
