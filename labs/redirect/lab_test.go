package redirect_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/topology"
)

var modes = []labs.Mode{labs.ModeGeneric, labs.ModeNative}

// TestRun goes through the same path as `xdplab run redirect`, in both modes.
func TestRun(t *testing.T) {
	labtest.PassesInEveryMode(t, "redirect")
}

// TestSteps: every step's own program passes its check, in both modes.
func TestSteps(t *testing.T) {
	for _, step := range []string{"udp", "arp"} {
		t.Run(step, func(t *testing.T) {
			for _, mode := range modes {
				t.Run(string(mode), func(t *testing.T) {
					labtest.Passes(t, "redirect", labs.Options{Mode: mode, Step: step})
				})
			}
		})
	}
}

// TestExercises: for the base exercise and each step, the starter that
// init writes compiles, loads and fails check with hints naming its TODOs;
// the solution passes; in both modes.
func TestExercises(t *testing.T) {
	labtest.ExercisesGraded(t, "redirect")
}

// TestRunTutorialObject grades the tutorial's own program: legacy "maps"
// section, a plain DEVMAP of 1024 entries, no fib_results.
func TestRunTutorialObject(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			labtest.Passes(t, "redirect", labs.Options{Mode: mode, Obj: labtest.Obj("redirect", "legacy_redirect.o")})
		})
	}
}

// TestBadObjects: every unusable --obj is refused with a sentence that says
// what is wrong, and nothing stays behind (Instance's cleanup checks).
func TestBadObjects(t *testing.T) {
	labtest.RefusesBadObjects(t, "redirect", []labtest.BadObj{
		{Name: "missing file", Obj: "/nonexistent/redirect.o", Want: []string{"--obj /nonexistent/redirect.o", "no such file"}, NotBadObject: true},
		{Name: "not an ELF", Obj: labtest.NotELF(t), Want: []string{"is not an ELF file"}},
		{Name: "wrong names", Obj: labtest.WrongNames(), Want: []string{`no program named "xdp_test"`, `no map named "if_redirect"`, "DevMapHash or DevMap"}},
		{Name: "another lab's object", Obj: labtest.Obj("packet_counter", "legacy_packet_count.o"), Want: []string{`no program named "xdp_test"`, `no map named "if_redirect"`}},
	})
	// A DEVMAP too small for node1's ifindexes shows only once node1
	// exists: up refuses it and removes what it built.
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	err := r.Up(context.Background(), "redirect", labs.Options{Obj: labtest.Obj("redirect", "small_devmap_redirect.o")})
	if err == nil {
		r.Down(context.Background(), "")
		t.Fatal("up succeeded with a 1-entry DEVMAP")
	}
	for _, w := range []string{"node1/veth1 has ifindex", "does not fit in the DEVMAP", "max_entries 1", "DEVMAP_HASH"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

func up(t *testing.T, mode labs.Mode) (*labs.Runner, string) {
	t.Helper()
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	r := &labs.Runner{Registry: course.Registry(), Instance: inst}
	if err := r.Up(context.Background(), "redirect", labs.Options{Mode: mode}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := r.Down(context.Background(), "redirect"); err != nil {
			t.Error(err)
		}
	})
	return r, inst
}

func check(t *testing.T, r *labs.Runner) *labs.Report {
	t.Helper()
	reports, err := r.Check(context.Background(), "redirect")
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	return reports[0]
}

// TestCheckExplainsForwardingOff turns ip_forward off in node1 behind the
// lab's back: the check must fail and name the fib result and the cause.
func TestCheckExplainsForwardingOff(t *testing.T) {
	r, inst := up(t, labs.ModeGeneric)
	node1, err := namespace.Open(topology.NamespaceName(inst, "redirect", "node1"))
	if err != nil {
		t.Fatal(err)
	}
	defer node1.Close()
	if err := node1.Sysctl("net.ipv4.ip_forward", "0"); err != nil {
		t.Fatal(err)
	}
	rep := check(t, r)
	if rep.Pass {
		t.Fatal("check passed with ip_forward off in node1")
	}
	found := false
	for _, res := range rep.Results {
		if !res.Pass && strings.Contains(res.Hint, "fib lookup returned FWD_DISABLED") && strings.Contains(res.Hint, "ip_forward is off in node1") {
			found = true
		}
	}
	if !found {
		t.Errorf("no failing result names FWD_DISABLED and ip_forward: %+v", rep.Results)
	}
}

// TestCheckPingsNotSent: when the host cannot send its pings, datagrams or
// TCP connection (its route to node2's subnet deleted behind the lab's
// back), every expectation is still judged, the host's own traffic fails
// with hints that blame the network, not the program: the check ran,
// nothing about the learner's program is an error.
func TestCheckPingsNotSent(t *testing.T) {
	r, inst := up(t, labs.ModeGeneric)
	labtest.DeleteRoute(t, r, "redirect", "host", "192.168.1.0/24")
	rep := check(t, r)
	if rep.Verdict != labs.VerdictFail || rep.Error != "" || len(rep.Results) != 18 {
		t.Fatalf("want 18 judged expectations and a FAIL, got %s, error %q, %d results", rep.Verdict, rep.Error, len(rep.Results))
	}
	if o := rep.Results[0].Observed; !strings.Contains(o, "0 replies; pinging stopped: ") || !strings.Contains(o, "network is unreachable") {
		t.Errorf("observed %q does not say why pinging stopped", o)
	}
	failed := 0
	for _, res := range rep.Results {
		if res.Pass {
			continue
		}
		failed++
		if !strings.Contains(res.Hint, "from host stopped before its end") && !strings.Contains(res.Hint, "sending from host failed") ||
			!strings.Contains(res.Hint, "`xdplab up redirect --instance "+inst+"`") {
			t.Errorf("%s: hint %q does not blame the network", res.Name, res.Hint)
		}
	}
	// Pings, UDP and TCP from the host fail; the frames the check writes
	// onto the host's link itself still go through and are judged.
	if failed != 7 {
		t.Errorf("%d expectations failed, want the 7 of the host's own traffic", failed)
	}
}

// TestCheckLeavesLabAsItWas: the check swaps xdp_pass into node1's links,
// empties if_redirect and deletes node1's neighbour entry for the host, each
// for a moment; afterwards everything must be as up left it, read with ip
// and bpftool as witnesses independent of xdplab.
func TestCheckLeavesLabAsItWas(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			testutils.RequireTool(t, "ip")
			testutils.RequireTool(t, "bpftool")
			r, inst := up(t, mode)
			pins := r.PinDir("redirect")
			want := programID(t, filepath.Join(pins, "prog_xdp_test"))
			witness := func() string {
				node1 := topology.NamespaceName(inst, "redirect", "node1")
				var b strings.Builder
				for _, args := range [][]string{
					{"ip", "-n", node1, "link", "show", "veth1"},
					{"ip", "-n", node1, "link", "show", "veth2"},
					{"ip", "-n", node1, "-4", "neigh", "show"},
					{"bpftool", "map", "dump", "pinned", filepath.Join(pins, "if_redirect")},
				} {
					out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
					if err != nil {
						t.Fatalf("%v: %v\n%s", args, err, out)
					}
					b.Write(out)
				}
				return b.String()
			}
			before := witness()
			if rep := check(t, r); !rep.Pass {
				testutils.RequirePass(t, []*labs.Report{rep})
			}
			if after := witness(); after != before {
				t.Errorf("the check left the lab changed:\nbefore\n%s\nafter\n%s", before, after)
			}
			if !strings.Contains(before, fmt.Sprintf("prog/xdp id %d", want)) || !strings.Contains(before, "PERMANENT") {
				t.Errorf("the witnesses do not show xdp_test (id %d) and permanent neighbours:\n%s", want, before)
			}
		})
	}
}

func programID(t *testing.T, pin string) ebpf.ProgramID {
	t.Helper()
	p, err := ebpf.LoadPinnedProgram(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.ID()
	if !ok {
		t.Fatal("no program id")
	}
	return id
}
