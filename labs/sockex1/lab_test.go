package sockex1_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/labs/sockex1"
)

const testdata = "../../internal/testutils/testdata/"

// TestRun goes through the same path as `xdplab run sockex1`.
func TestRun(t *testing.T) {
	testutils.RequirePrivileged(t)
	reports, err := labtest.Runner(t).Run(context.Background(), []string{"sockex1"}, labs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
}

// TestRunSampleObject grades the sample's program as it stood for years
// (legacy maps section, load_byte) loaded with --obj.
func TestRunSampleObject(t *testing.T) {
	testutils.RequirePrivileged(t)
	reports, err := labtest.Runner(t).Run(context.Background(), []string{"sockex1"},
		labs.Options{Obj: testdata + "sockex1_legacy.o"})
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
}

// TestCheckCatchesMistakes grades a filter that forgot the PACKET_OUTGOING
// test: on lo it counts every packet twice, and the check must say so.
func TestCheckCatchesMistakes(t *testing.T) {
	testutils.RequirePrivileged(t)
	reports, err := labtest.Runner(t).Run(context.Background(), []string{"sockex1"},
		labs.Options{Obj: testdata + "sockex1_both_ways.o"})
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

// TestBadObj: each unusable --obj is refused with a sentence naming what is
// wrong, before anything is created (the instance's cleanup checks that).
func TestBadObj(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "sockex1_kern.o")
	if err := os.WriteFile(notELF, []byte("\x7fEL"), 0o644); err != nil {
		t.Fatal(err)
	}
	labtest.RefusesBadObjects(t, "sockex1", []labtest.BadObj{
		{Name: "not an ELF", Obj: notELF, Want: []string{"is not an ELF file"}},
		{Name: "missing program and map", Obj: testdata + "wrong_names.o", Want: []string{
			`no program named "bpf_prog1" (have: count)`, `no map named "my_map" (have: counters)`}},
		{Name: "wrong map type", Obj: testdata + "sockex1_wrong_map.o", Want: []string{
			`map "my_map" is of type Hash, the lab expects Array`}},
		{Name: "an XDP program", Obj: testdata + "xdp_dump_tutorial.o", Want: []string{`no program named "bpf_prog1" (have: xdp_dump)`}},
	})
}

// TestWatch: the sample's experience. watch attaches the filter, 5 pings
// over node1's lo show up as ICMP 980 bytes, Ctrl-C ends it.
func TestWatch(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, "sockex1", labs.Options{}); err != nil {
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
	defer env.Topo.Close()

	out := &testutils.SyncBuffer{}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- lab.Watch(wctx, env, out) }()
	testutils.WaitFor(t, out, "TCP 0 UDP 0 ICMP 0 bytes\n") // first line: the socket is attached

	res, err := traffic.Ping(ctx, env.Topo.MustNS("node1"), netip.MustParseAddr("127.0.0.1"), traffic.PingOptions{Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Received != 5 {
		t.Fatalf("ping: %d of 5 replies", res.Received)
	}
	testutils.WaitFor(t, out, "TCP 0 UDP 0 ICMP 980 bytes\n")
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFormat(t *testing.T) {
	c := sockex1.Counts{1: 980, 6: 704, 17: 568, 47: 9}
	if got, want := c.Format(), "TCP 704 UDP 568 ICMP 980 bytes\n"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	d := c.Sub(sockex1.Counts{1: 980, 6: 700})
	if len(d) != 3 || d[6] != 4 || d[17] != 568 || d[47] != 9 {
		t.Errorf("Sub = %v", d)
	}
}

func TestGuide(t *testing.T) {
	g := sockex1.New().Guide()
	for _, want := range []string{"# Lab 6: sockex1", "--obj", "ICMP 980 bytes", "SO_ATTACH_BPF"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide does not contain %q", want)
		}
	}
}
