package xdpdump_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/labs/labtest"
	xdpdump "github.com/xdplab/xdplab/labs/xdp_dump"
)

// TestRun goes through the same path as `xdplab run xdp_dump`, in both modes.
func TestRun(t *testing.T) {
	labtest.PassesInEveryMode(t, "xdp_dump")
}

// TestRunTutorialObject grades the tutorial's own program (legacy maps
// section, 12-byte perf_event_item without a length) loaded with --obj.
func TestRunTutorialObject(t *testing.T) {
	labtest.Passes(t, "xdp_dump", labs.Options{Obj: labtest.Obj("xdp_dump", "xdp_dump_tutorial.o")})
}

// TestCheckCatchesMistakes grades a program that reports every IPv4 packet
// without its bytes: exactly the expectations about that must fail.
func TestCheckCatchesMistakes(t *testing.T) {
	testutils.RequirePrivileged(t)
	reports, err := labtest.Runner(t).Run(context.Background(), []string{"xdp_dump"},
		labs.Options{Obj: labtest.Obj("xdp_dump", "xdp_dump_every_packet.o")})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Pass || reports[0].Error != "" {
		t.Fatalf("want one failed report without error, got %+v", reports)
	}
	var failed []string
	for _, r := range reports[0].Results {
		if !r.Pass {
			failed = append(failed, r.Name)
			if r.Hint == "" {
				t.Errorf("%q failed without a hint", r.Name)
			}
		}
	}
	// Every IPv4 packet of the connection is an event without bytes; the UDP
	// datagrams are events too.
	for _, want := range []string{"one event for the SYN", "the event carries that SYN packet", "no event for 3 UDP datagrams"} {
		if !slices.ContainsFunc(failed, func(n string) bool { return strings.HasPrefix(n, want) }) {
			_, _, text := reports[0].Describe()
			t.Errorf("expected %q to fail:\n%s", want, text)
		}
	}
}

// TestCheckGoesOnAfterTrafficFails: when node1 cannot be reached from the
// host, the TCP exchange and the datagrams fail as expectations with their
// hints, not as an error, and the expectations that do not need them are
// still checked: the raw frames are written below routing.
func TestCheckGoesOnAfterTrafficFails(t *testing.T) {
	rep := labtest.CheckAfter(t, "xdp_dump", labs.Options{}, func(t *testing.T, env *labs.Env) {
		labtest.Unreachable(t, env, "sender", "dut")
	})
	ids, err := grade.CPUs()
	if err != nil {
		t.Fatal(err)
	}
	var cpus, perCPU []string
	for _, id := range ids {
		cpus, perCPU = append(cpus, fmt.Sprint(id)), append(perCPU, fmt.Sprintf("CPU %d: 1", id))
	}
	labtest.RequireJudged(t, rep, []labtest.Judged{
		{Name: "TCP connect host -> 192.168.0.2:8888 succeeds", Pass: false, Observed: "no connection: "},
		{Name: "one event for the SYN with IP options 192.168.0.3:43911 -> 192.168.0.2:8889", Pass: true, Observed: "1"},
		{Name: "the event's tuple is 192.168.0.3:43911 -> 192.168.0.2:8889", Pass: true, Observed: "192.168.0.3:43911 -> 192.168.0.2:8889"},
		{Name: "one event for the SYN sent from each CPU (" + strings.Join(cpus, ", ") + ")", Pass: true, Observed: strings.Join(perCPU, ", ")},
		{Name: "3 UDP datagrams host -> 192.168.0.2:9 arrive", Pass: false, Observed: "0 of 3 datagrams arrived (sending failed: "},
		{Name: "no event for 3 UDP datagrams host -> 192.168.0.2:9", Pass: true, Observed: "0"},
		{Name: "no event for an IPv6 TCP SYN [fd00::3]:43910 -> [fd00::2]:8888", Pass: true, Observed: "0"},
		{Name: "no event for a TCP SYN in a frame of EtherType 0x0008, not IPv4", Pass: true, Observed: "0"},
		{Name: "no event is lost", Pass: true, Observed: "0"},
	})
	// Without a connection, its SYN is not told from its retransmissions.
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Name, "one event for the SYN 192.168.0.3:") {
			t.Errorf("%q judged without a connection", r.Name)
		}
	}
}

// TestBadObj: each unusable --obj is refused with a sentence naming what is
// wrong, before anything is created (the instance's cleanup checks that).
func TestBadObj(t *testing.T) {
	labtest.RefusesBadObjects(t, "xdp_dump", []labtest.BadObj{
		{Name: "not an ELF", Obj: labtest.NotELF(t), Want: []string{"is not an ELF file", "clang -O2 -g -target bpf"}},
		{Name: "missing file", Obj: filepath.Join(t.TempDir(), "nope.o"), Want: []string{"no such file"}, NotBadObject: true},
		{Name: "missing program and map", Obj: labtest.WrongNames(), Want: []string{
			`no program named "xdp_dump" (have: count)`, `no map named "perfmap" (have: counters)`}},
		{Name: "wrong map type", Obj: labtest.Obj("xdp_dump", "xdp_dump_wrong_map.o"), Want: []string{
			`map "perfmap" is of type Array, the lab expects PerfEventArray`}},
		{Name: "a socket filter", Obj: labtest.Obj("sockex1", "sockex1_legacy.o"), Want: []string{`no program named "xdp_dump" (have: bpf_prog1)`}},
	})
}

// TestWatch is the acceptance scenario: while xdp_dump is up, a TCP
// connection from host appears in watch with its tuple and a hex dump, and
// Ctrl-C ends watch with the totals.
func TestWatch(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, "xdp_dump", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := r.Down(ctx, "xdp_dump"); err != nil {
			t.Error(err)
		}
	})
	lab, env, err := r.Open("xdp_dump")
	if err != nil {
		t.Fatal(err)
	}
	defer env.Topo.Close()

	out := &testutils.SyncBuffer{}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- lab.Watch(wctx, env, out) }()
	testutils.WaitFor(t, out, "will be dumped here.") // the reader is open

	ln, err := traffic.ListenTCP(env.Topo.MustNS("node1"), netip.MustParseAddrPort("192.168.0.2:8888"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := traffic.TCPConnect(ctx, env.Topo.MustNS("host"), netip.MustParseAddrPort("192.168.0.2:8888"), []byte("hi\n"))
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("TCP: 192.168.0.3:%d -> 192.168.0.2:8888\n00000000  ", res.Local.Port())
	testutils.WaitFor(t, out, line)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), xdpdump.Summary(1, 0)) {
		t.Errorf("watch did not end with the totals of one event:\n%s", out.String())
	}
}

func TestGuide(t *testing.T) {
	g := xdpdump.New().Info().Guide
	for _, want := range []string{"TCP: 192.168.0.3:", "## Steps", "`syn_ack`", "`headers`",
		"[testdata/mistakes](testdata/mistakes/README.md)", "the tutorial's program passes as it is"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide does not contain %q", want)
		}
	}
}

// TestSteps: every step's own program passes its check, in both modes.
func TestSteps(t *testing.T) {
	for _, step := range []string{"syn_ack", "headers"} {
		t.Run(step, func(t *testing.T) {
			for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
				t.Run(string(mode), func(t *testing.T) {
					labtest.Passes(t, "xdp_dump", labs.Options{Mode: mode, Step: step})
				})
			}
		})
	}
}

// TestExercises: for the base exercise and each step, the starter that
// init writes compiles, loads and fails check with hints naming its TODOs;
// the solution passes; in both modes.
func TestExercises(t *testing.T) {
	labtest.ExercisesGraded(t, "xdp_dump")
}
