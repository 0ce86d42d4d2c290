package sockex1_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/labs/sockex1"
)

// TestRun goes through the same path as `xdplab run sockex1`: once, in no
// mode, since it has no XDP program.
func TestRun(t *testing.T) {
	labtest.PassesInEveryMode(t, "sockex1")
}

// TestRunSampleObject grades the sample's program as it stood for years
// (legacy maps section, load_byte) loaded with --obj.
func TestRunSampleObject(t *testing.T) {
	labtest.Passes(t, "sockex1", labs.Options{Obj: labtest.Obj("sockex1", "sockex1_legacy.o")})
}

// TestCheckCatchesMistakes grades a filter that forgot the PACKET_OUTGOING
// test: on lo it counts every packet twice, and the check must say so.
func TestCheckCatchesMistakes(t *testing.T) {
	testutils.RequirePrivileged(t)
	reports, err := labtest.Runner(t).Run(context.Background(), []string{"sockex1"},
		labs.Options{Obj: labtest.Obj("sockex1", "sockex1_both_ways.o")})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Pass || reports[0].Error != "" {
		t.Fatalf("want one failed report without error, got %+v", reports)
	}
	var failed []labs.Result
	for _, r := range reports[0].Results {
		if !r.Pass {
			failed = append(failed, r)
		}
	}
	_, _, text := reports[0].Describe()
	for _, want := range []string{"ICMP counts", "UDP counts", "TCP counts"} {
		if !slices.ContainsFunc(failed, func(r labs.Result) bool { return strings.HasPrefix(r.Name, want) }) {
			t.Errorf("expected %q to fail:\n%s", want, text)
		}
	}
	for _, r := range failed {
		if strings.HasPrefix(r.Name, "ICMP counts") && (r.Observed != "1960" || !strings.Contains(r.Hint, "PACKET_OUTGOING")) {
			t.Errorf("ICMP: observed %s, hint %q; want 1960 and a hint about PACKET_OUTGOING", r.Observed, r.Hint)
		}
	}
}

// upForTest brings the lab up on a fresh instance, taken down again when
// the test ends, and opens it as check and watch see it.
func upForTest(t *testing.T, opts labs.Options) (*labs.Runner, labs.Lab, *labs.Env) {
	t.Helper()
	r := labtest.Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, "sockex1", opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := r.Down(ctx, "sockex1"); err != nil {
			t.Error(err)
		}
	})
	lab, env, err := r.Open("sockex1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Topo.Close)
	return r, lab, env
}

// linkDown sets node1's iface down: damage done to the lab since up.
func linkDown(t *testing.T, env *labs.Env, iface string) {
	t.Helper()
	node1 := env.Topo.MustNS("node1")
	l, err := node1.Netlink().LinkByName(iface)
	if err == nil {
		err = node1.Netlink().LinkSetDown(l)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestBrokenLoIsAnError: traffic over lo that does not arrive cannot be
// the filter's doing, so the check stops with the cause and the fix (exit
// 2), after the expectations it could judge; nothing is left behind once
// the lab is down.
func TestBrokenLoIsAnError(t *testing.T) {
	testutils.RequirePrivileged(t)
	r, _, env := upForTest(t, labs.Options{})
	ctx := context.Background()
	linkDown(t, env, "lo")

	reports, err := r.Check(ctx, "sockex1")
	if err != nil {
		t.Fatal(err)
	}
	rep := reports[0]
	want := "udp to 127.0.0.1:9999 over lo in node1: 0 of 4 datagrams arrived; a socket filter cannot cause that, so lo in node1 is broken: " +
		"run `xdplab down sockex1 --instance " + r.Instance + "` and `xdplab up sockex1 --instance " + r.Instance + "` again"
	if rep.Verdict != labs.VerdictError || rep.Error != want {
		t.Errorf("verdict %s, error %q\nwant an error: %s", rep.Verdict, rep.Error, want)
	}
	if len(rep.Results) != 2 || rep.Results[0].Pass || !strings.HasPrefix(rep.Results[1].Hint, "0 of 5 pings were answered") {
		t.Errorf("want the pings failed and the ICMP count not blamed on the program: %+v", rep.Results)
	}
}

// TestBrokenVethIsAnError: the check's moment on veth1 needs the link up;
// with it down, the check stops with the cause and the fix (exit 2) after
// every expectation over lo, all judged and passed.
func TestBrokenVethIsAnError(t *testing.T) {
	testutils.RequirePrivileged(t)
	r, _, env := upForTest(t, labs.Options{})
	linkDown(t, env, "veth1")
	reports, err := r.Check(context.Background(), "sockex1")
	if err != nil {
		t.Fatal(err)
	}
	rep := reports[0]
	cause := "a ping to 192.168.0.3 over veth1 in node1: 0 replies; pinging stopped: "
	fix := "; a socket filter cannot cause that, so veth1 in node1 is broken: " +
		"run `xdplab down sockex1 --instance " + r.Instance + "` and `xdplab up sockex1 --instance " + r.Instance + "` again"
	if rep.Verdict != labs.VerdictError || !strings.HasPrefix(rep.Error, cause) || !strings.HasSuffix(rep.Error, fix) {
		t.Errorf("verdict %s, error %q\nwant an error: %s...%s", rep.Verdict, rep.Error, cause, fix)
	}
	if len(rep.Results) != 6 || slices.ContainsFunc(rep.Results, func(r labs.Result) bool { return !r.Pass }) {
		t.Errorf("want the 6 expectations over lo, all passed: %+v", rep.Results)
	}
}

// TestBadObj: each unusable --obj is refused with a sentence naming what is
// wrong, before anything is created (the instance's cleanup checks that).
func TestBadObj(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "sockex1_kern.o")
	if err := os.WriteFile(notELF, []byte("\x7fEL"), 0o644); err != nil {
		t.Fatal(err)
	}
	labtest.RefusesBadObjects(t, "sockex1", []labtest.BadObj{
		{Name: "not an ELF", Obj: notELF, Want: []string{"is not an ELF file"}},
		{Name: "missing program and map", Obj: labtest.WrongNames(), Want: []string{
			`no program named "bpf_prog1" (have: count)`, `no map named "my_map" (have: counters)`}},
		{Name: "wrong map type", Obj: labtest.Obj("sockex1", "sockex1_wrong_map.o"), Want: []string{
			`map "my_map" is of type Hash, the lab expects Array`}},
		{Name: "an XDP program", Obj: labtest.Obj("xdp_dump", "xdp_dump_tutorial.o"), Want: []string{`no program named "bpf_prog1" (have: xdp_dump)`}},
	})
}

// TestWatch: the sample's experience. watch attaches the filter, 5 pings
// over node1's lo show up as ICMP 980 bytes (and 10 packets in the packets
// step), Ctrl-C ends it.
func TestWatch(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, c := range []struct {
		step         string
		first, pings string
	}{
		{"", "TCP 0 UDP 0 ICMP 0 bytes\n", "TCP 0 UDP 0 ICMP 980 bytes\n"},
		{"packets", "TCP 0 packets 0 bytes UDP 0 packets 0 bytes ICMP 0 packets 0 bytes\n",
			"TCP 0 packets 0 bytes UDP 0 packets 0 bytes ICMP 10 packets 980 bytes\n"},
	} {
		t.Run(labs.Step{Name: c.step}.Title(), func(t *testing.T) {
			_, lab, env := upForTest(t, labs.Options{Step: c.step})
			ctx := context.Background()

			out := &testutils.SyncBuffer{}
			wctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- lab.Watch(wctx, env, out) }()
			testutils.WaitFor(t, out, c.first) // first line: the socket is attached

			res, err := traffic.Ping(ctx, env.Topo.MustNS("node1"), netip.MustParseAddr("127.0.0.1"), traffic.PingOptions{Count: 5})
			if err != nil {
				t.Fatal(err)
			}
			if res.Received != 5 {
				t.Fatalf("ping: %d of 5 replies", res.Received)
			}
			testutils.WaitFor(t, out, c.pings)
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	c := grade.Counters[uint32]{1: 980, 6: 704, 17: 568, 47: 9}
	if got, want := sockex1.Format(c), "TCP 704 UDP 568 ICMP 980 bytes\n"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got, want := sockex1.Format(nil), "TCP 0 UDP 0 ICMP 0 bytes\n"; got != want {
		t.Errorf("Format(nil) = %q, want %q", got, want)
	}
	p := grade.Counters[uint32]{1: 10, 6: 12, 17: 4}
	if got, want := sockex1.FormatPairs(p, c), "TCP 12 packets 704 bytes UDP 4 packets 568 bytes ICMP 10 packets 980 bytes\n"; got != want {
		t.Errorf("FormatPairs = %q, want %q", got, want)
	}
}

func TestGuide(t *testing.T) {
	g := sockex1.New().Info().Guide
	for _, want := range []string{"ICMP 980 bytes", "SO_ATTACH_BPF"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide does not contain %q", want)
		}
	}
}

// TestModeDoesNotApply: sockex1 has no XDP program, so --mode (either one)
// is refused by up and by a run that names it, before anything is built
// (the instance's cleanup checks), with the command that works.
func TestModeDoesNotApply(t *testing.T) {
	r := labtest.Runner(t)
	ctx := context.Background()
	for _, mode := range []labs.Mode{labs.ModeNative, labs.ModeGeneric} {
		err := r.Up(ctx, "sockex1", labs.Options{Mode: mode})
		want := "sockex1 has no XDP program (its bpf_prog1 is a socket filter): --mode does not apply; run `xdplab up sockex1 --instance " + r.Instance + "`"
		if !errors.Is(err, labs.ErrUsage) || err.Error() != want {
			t.Errorf("up --mode %s: %v\nwant a usage error: %s", mode, err, want)
		}
		_, err = r.Run(ctx, []string{"sockex1"}, labs.Options{Mode: mode})
		want = "sockex1 has no XDP program (its bpf_prog1 is a socket filter): --mode does not apply; run `xdplab run sockex1 --instance " + r.Instance + "`"
		if !errors.Is(err, labs.ErrUsage) || err.Error() != want {
			t.Errorf("run --mode %s: %v\nwant a usage error: %s", mode, err, want)
		}
	}
}

// TestRunAllInNativeMode: a run over several labs with --mode where it
// applies (run --all) runs the XDP labs in that mode and sockex1 as it
// always does; no report of sockex1 names a mode, and its note says why.
func TestRunAllInNativeMode(t *testing.T) {
	testutils.RequirePrivileged(t)
	reports, err := labtest.Runner(t).Run(context.Background(), []string{"packet_counter", "sockex1"},
		labs.Options{Mode: labs.ModeNative, ModeWhereSupported: true})
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
	if reports[0].Mode != labs.ModeNative || reports[0].Note != "" {
		t.Errorf("packet_counter ran in mode %q with note %q, want native and no note", reports[0].Mode, reports[0].Note)
	}
	if reports[1].Mode != "" || !strings.Contains(reports[1].Note, "--mode native does not apply: sockex1 has no XDP program") {
		t.Errorf("sockex1 ran in mode %q with note %q, want no mode and a note", reports[1].Mode, reports[1].Note)
	}
	var text, js strings.Builder
	labs.WriteText(&text, reports[1:])
	labs.WriteSummary(&text, reports[1:])
	if err := labs.WriteJSON(&js, reports[1:]); err != nil {
		t.Fatal(err)
	}
	if out := text.String() + js.String(); strings.Contains(out, "generic") || strings.Contains(out, `"mode"`) || strings.Contains(out, "native mode") {
		t.Errorf("sockex1's reports name a mode:\n%s", out)
	}
}

// TestSteps: every step's own program passes its check (in no mode: the
// lab has no XDP program).
func TestSteps(t *testing.T) {
	for _, step := range []string{"packets", "snap"} {
		t.Run(step, func(t *testing.T) {
			labtest.Passes(t, "sockex1", labs.Options{Step: step})
		})
	}
}

// TestExercises: for the base exercise and each step, the starter that
// init writes compiles, loads and fails check with hints naming its TODOs;
// the solution passes.
func TestExercises(t *testing.T) {
	labtest.ExercisesGraded(t, "sockex1")
}

// TestStepShapes: each step's my_map has its own value size, and an
// object of another step's shape is refused before anything is created,
// with the --step that takes it.
func TestStepShapes(t *testing.T) {
	lab := sockex1.New()
	packetsObj := labtest.Obj("sockex1", filepath.Join("correct", "packets", "skb_load_bytes.o"))
	baseObj := labtest.Obj("sockex1", "sockex1_legacy.o")
	for _, c := range []struct {
		step, obj string
		want      string // "" accepts
	}{
		{"", baseObj, ""},
		{"snap", baseObj, ""},
		{"packets", packetsObj, ""},
		{"", packetsObj, "map \"my_map\" has 16-byte values, the lab expects 8; its my_map fits step packets (count packets and bytes per protocol (sockex2's struct pair), IPv4 only): add `--step packets`"},
		{"snap", packetsObj, "the lab expects 8; its my_map fits step packets"},
		{"packets", baseObj, "map \"my_map\" has 8-byte values, the lab expects 16; its my_map fits step base"},
	} {
		err := lab.Validate(labs.Options{Step: c.step, Obj: c.obj})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("step %q, %s: %v", c.step, filepath.Base(c.obj), err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, loader.ErrBadObject)):
			t.Errorf("step %q, %s: %v\nwant a bad object error with %q", c.step, filepath.Base(c.obj), err, c.want)
		}
	}
}
