package icmpdrop_test

import (
	"bufio"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	icmpdrop "github.com/xdplab/xdplab/labs/icmp_drop"
	"github.com/xdplab/xdplab/labs/labtest"
)

// TestRun goes through the same path as `xdplab run icmp_drop`: the base
// exercise on node1's lo, in generic mode, the only one lo has.
func TestRun(t *testing.T) {
	labtest.PassesInEveryMode(t, "icmp_drop")
}

// TestSteps: each step on node1's veth1 passes with its own program, in
// both modes.
func TestSteps(t *testing.T) {
	for _, step := range []string{"veth1", "echo_request"} {
		t.Run(step, func(t *testing.T) {
			for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
				t.Run(string(mode), func(t *testing.T) {
					rep := labtest.Passes(t, "icmp_drop", labs.Options{Mode: mode, Step: step})
					if rep.Mode != mode {
						t.Errorf("the report says mode %q, want %q", rep.Mode, mode)
					}
				})
			}
		})
	}
}

// TestExercises: for the base exercise and each step, the starter that
// init writes compiles, loads and fails check with hints naming its TODOs;
// the solution passes; in every mode the step has.
func TestExercises(t *testing.T) {
	labtest.ExercisesGraded(t, "icmp_drop")
}

// TestBadObj: each unusable --obj is refused with a sentence naming what is
// wrong, before anything is created (the instance's cleanup checks that).
func TestBadObj(t *testing.T) {
	labtest.RefusesBadObjects(t, "icmp_drop", []labtest.BadObj{
		{Name: "not an ELF", Obj: labtest.NotELF(t), Want: []string{"is not an ELF file", "clang -O2 -g -target bpf"}},
		{Name: "another name", Obj: labtest.WrongNames(), Want: []string{`no program named "icmp_drop" (have: count)`, "XDP"}},
		{Name: "a socket filter", Obj: labtest.Obj("sockex1", "sockex1_legacy.o"), Want: []string{`no program named "icmp_drop" (have: bpf_prog1)`}},
	})
}

// TestNativeOnLoRefused: the base exercise runs on lo, which has no driver:
// --mode native is a usage error that names the steps which run natively,
// and nothing is built (the instance's cleanup checks that).
func TestNativeOnLoRefused(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	err := r.Up(context.Background(), "icmp_drop", labs.Options{Mode: labs.ModeNative})
	for _, want := range []string{"icmp_drop's base exercise does not run in native mode", "node1/lo", "veth1, echo_request",
		"`xdplab up icmp_drop --step veth1 --mode native --instance " + r.Instance + "`"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("up --mode native: %v\nwant it to say %q", err, want)
		}
	}
	if !errors.Is(err, labs.ErrUsage) {
		t.Errorf("up --mode native: %v is not a usage error", err)
	}
}

// TestVerifierRefusesUnboundedRead: the solution without the bounds check
// before iph->protocol is a mistake no check can grade, since the verifier
// refuses it: up says so with the verifier's log, naming the line, and
// leaves nothing behind (the instance's cleanup checks that).
func TestVerifierRefusesUnboundedRead(t *testing.T) {
	testutils.RequirePrivileged(t)
	dir, _ := labtest.Workspace(t, "icmp_drop", "", true)
	src := filepath.Join(dir, "icmp_drop.c")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	bounds := "\tif ((void *)(iph + 1) > data_end)\n\t\treturn XDP_PASS;\n"
	if strings.Count(string(b), bounds) != 1 {
		t.Fatalf("the solution has no single %q to leave out", bounds)
	}
	if err := os.WriteFile(src, []byte(strings.Replace(string(b), bounds, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := labtest.Compile(t, dir, "icmp_drop")
	r := labtest.Runner(t)
	err = r.Up(context.Background(), "icmp_drop", labs.Options{Obj: obj})
	for _, want := range []string{"the verifier rejected the program", "invalid access to packet", "icmp_drop.c:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("up with the unbounded read: %v\nwant it to say %q", err, want)
		}
	}
}

// rootLo is what the machine's own lo looks like to a reader: the XDP
// program on it (none), and the echo requests and replies its namespace's
// stack has counted (/proc/net/snmp's Icmp line, which counts per
// namespace).
type rootLo struct {
	prog          attached.Program
	hasProg       bool
	inEchos, reps int
}

func readRootLo(t *testing.T) rootLo {
	t.Helper()
	ns, err := namespace.OpenOwn()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var s rootLo
	if s.prog, s.hasProg, err = attached.XDP(ns, "lo"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Icmp:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, n := range names {
			v, _ := strconv.Atoi(fields[i])
			switch n {
			case "InEchos":
				s.inEchos = v
			case "OutEchoReps":
				s.reps = v
			}
		}
	}
	return s
}

// TestRootLoUntouched: the lab pings 127.0.0.1 inside node1 only. The
// machine's own lo runs no program before and after a run of every step,
// and its namespace's stack counts no echo request or reply of the lab's
// (the check sends 6 per run). Nothing here attaches to the machine's lo;
// the test only reads it.
func TestRootLoUntouched(t *testing.T) {
	testutils.RequirePrivileged(t)
	before := readRootLo(t)
	if before.hasProg {
		t.Skipf("the machine's own lo runs %s already, put there by someone else: this test cannot tell the lab's doing", before.prog)
	}
	for _, step := range []string{"", "veth1", "echo_request"} {
		rep := labtest.Passes(t, "icmp_drop", labs.Options{Step: step})
		own := false
		for _, r := range rep.Results {
			own = own || (strings.HasPrefix(r.Name, "the machine's own lo runs no program") && r.Pass)
		}
		if !own {
			t.Errorf("step %q: no passed expectation on the machine's own lo", step)
		}
	}
	after := readRootLo(t)
	if after.hasProg {
		t.Errorf("the machine's own lo runs %s after the runs", after.prog)
	}
	if after.inEchos != before.inEchos || after.reps != before.reps {
		t.Errorf("the machine's own stack counted echo requests %d -> %d, echo replies %d -> %d: the lab's pings reached it",
			before.inEchos, after.inEchos, before.reps, after.reps)
	}
}

// TestPingBeforeAndAfter is the intro's experiment, with xdplab's own
// pieces as witnesses: in a bare lab (topology only) ping 127.0.0.1 in
// node1 is answered; with the lab's program up it gets no reply, and UDP
// over lo still arrives.
func TestPingBeforeAndAfter(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	ctx := context.Background()
	lo := netip.MustParseAddr("127.0.0.1")
	ping := func(opts labs.Options) int {
		t.Helper()
		if err := r.Up(ctx, "icmp_drop", opts); err != nil {
			t.Fatal(err)
		}
		defer r.Down(ctx, "icmp_drop")
		_, env, err := r.Open("icmp_drop")
		if err != nil {
			t.Fatal(err)
		}
		defer env.Topo.Close()
		res, err := traffic.Ping(ctx, env.Topo.MustNS("node1"), lo, traffic.PingOptions{Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		if opts.Bare {
			return res.Received
		}
		lo := grade.Loopback(env.Topo.MustRole("dut"))
		d, err := grade.Datagrams(ctx, lo, lo, 9999, 3, 16)
		if err != nil {
			t.Fatal(err)
		}
		if d.Arrived != 3 {
			t.Errorf("UDP over node1's lo with icmp_drop on it: %s", d)
		}
		return res.Received
	}
	if n := ping(labs.Options{Bare: true}); n != 3 {
		t.Errorf("without the program, ping 127.0.0.1 in node1 got %d of 3 replies", n)
	}
	if n := ping(labs.Options{}); n != 0 {
		t.Errorf("with icmp_drop on node1's lo, ping 127.0.0.1 in node1 got %d replies, want 0", n)
	}
}

func TestFormatTallies(t *testing.T) {
	got := icmpdrop.FormatTallies(map[string]icmpdrop.Tally{
		"IPPROTO_UDP": {Arrived: 5, Passed: 5}, "IPPROTO_ICMP": {Arrived: 3}, "ARP": {Arrived: 1, Passed: 2},
	})
	want := "ARP : 0 dropped, 2 passed\nIPPROTO_ICMP : 3 dropped, 0 passed\nIPPROTO_UDP : 0 dropped, 5 passed\n"
	if got != want {
		t.Errorf("FormatTallies = %q, want %q", got, want)
	}
}

// TestWatch: watch counts, per protocol, what the program dropped and
// passed while someone pings through it: 3 pings dropped and 5 datagrams
// passed, on lo and on veth1; Ctrl-C ends it.
func TestWatch(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, c := range []struct{ step, header string }{
		{"", "icmp_drop on node1/lo: frames dropped and passed per protocol"},
		{"veth1", "icmp_drop on node1/veth1: frames dropped and passed per protocol"},
	} {
		t.Run(labs.Step{Name: c.step}.Title(), func(t *testing.T) {
			r := labtest.Runner(t)
			ctx := context.Background()
			if err := r.Up(ctx, "icmp_drop", labs.Options{Step: c.step}); err != nil {
				t.Fatal(err)
			}
			defer r.Down(ctx, "icmp_drop")
			lab, env, err := r.Open("icmp_drop")
			if err != nil {
				t.Fatal(err)
			}
			defer env.Topo.Close()
			from, to := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
			if c.step == "" {
				from, to = grade.Loopback(to), grade.Loopback(to)
			}

			out := &testutils.SyncBuffer{}
			wctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- lab.Watch(wctx, env, out) }()
			testutils.WaitFor(t, out, c.header)

			res, err := traffic.Ping(ctx, from.NS, to.Addr.Addr(), traffic.PingOptions{Count: 3})
			if err != nil {
				t.Fatal(err)
			}
			if res.Received != 0 {
				t.Fatalf("ping through icmp_drop: %d replies", res.Received)
			}
			if d, err := grade.Datagrams(ctx, from, to, 9999, 5, 16); err != nil || d.Arrived != 5 {
				t.Fatalf("datagrams through icmp_drop: %v, %v", d, err)
			}
			testutils.WaitFor(t, out, "IPPROTO_ICMP : 3 dropped, 0 passed\n")
			testutils.WaitFor(t, out, "IPPROTO_UDP : 0 dropped, 5 passed\n")
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
