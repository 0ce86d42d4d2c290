package xdpcap_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/labs/xdpcap"
)

// TestRun goes through the same path as `xdplab run xdpcap`, in both modes.
func TestRun(t *testing.T) {
	labtest.PassesInEveryMode(t, "xdpcap")
}

// TestLearnerObjects loads a learner's own programs with --obj: the hook
// declared as xdpcap's README says (BTF types, any program name) and the
// legacy way (struct bpf_map_def with XDPCAP_HOOK()); both must be graded
// like the lab's own.
func TestLearnerObjects(t *testing.T) {
	for _, name := range []string{"hook_btf", "hook_legacy"} {
		t.Run(name, func(t *testing.T) {
			labtest.Passes(t, "xdpcap", labs.Options{Obj: labtest.Obj("xdpcap", name+".o")})
		})
	}
}

// TestCheckGoesOnAfterTrafficFails: when node1 cannot be reached from the
// host, the pings, datagrams and the TCP exchange fail as expectations that
// say so, with their hints, not as an error (and the datagrams to port 9,
// never sent, are not taken as dropped), and the capture's own
// expectations are still checked.
func TestCheckGoesOnAfterTrafficFails(t *testing.T) {
	rep := labtest.CheckAfter(t, "xdpcap", labs.Options{}, func(t *testing.T, env *labs.Env) {
		labtest.Unreachable(t, env, "sender", "dut")
	})
	labtest.RequireJudged(t, rep, []labtest.Judged{
		{Name: "3 pings host -> 192.168.0.2 are answered", Pass: false, Observed: "0 replies; 3 requests could not be sent (host unreachable)"},
		{Name: "5 UDP datagrams host -> 192.168.0.2:7777 arrive", Pass: false, Observed: "0 of 5 datagrams arrived (sending failed: "},
		{Name: "2 UDP datagrams host -> 192.168.0.2:2304 arrive", Pass: false, Observed: "0 of 2 datagrams arrived (sending failed: "},
		{Name: "TCP exchange host -> 192.168.0.2:9 completes", Pass: false, Observed: "no connection: "},
		{Name: "none of the 5 datagrams to port 9 gets past the program while nothing captures", Pass: false, Observed: "not sent: "},
		{Name: "XDPdrop holds the 5 datagrams to port 9 and nothing else", Pass: false, Observed: "0 to port 9, 0 other (sending to port 9 failed: "},
		{Name: "no datagram to port 9 is passed", Pass: true, Observed: "0"},
		{Name: "the lab program is back on its link after --entry", Pass: true, Observed: "true"},
	})
}

// TestBadObjects: objects the lab cannot use are refused before anything
// is created, saying what is wrong.
func TestBadObjects(t *testing.T) {
	labtest.RefusesBadObjects(t, "xdpcap", []labtest.BadObj{
		{Name: "wrong hook", Obj: labtest.Obj("xdpcap", "wrong_hook.o"), Want: []string{`map "xdpcap_hook" is of type Array, the lab expects ProgramArray`}},
		{Name: "no XDP program", Obj: labtest.Obj("xdpcap", "no_xdp.o"), Want: []string{`no XDP program (have: sock_prog)`}},
		{Name: "wrong names", Obj: labtest.WrongNames(), Want: []string{`no map named "xdpcap_hook" (have: counters)`}},
		{Name: "not an ELF", Obj: labtest.NotELF(t), Want: []string{"is not an ELF file"}},
	})
}

func TestGuideEmbedded(t *testing.T) {
	g := xdpcap.New().Info().Guide
	for _, want := range []string{"xdpcap_exit", "next_prog", "--entry"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide lacks %q", want)
		}
	}
}

// TestSteps: every step's own program passes its check, in both modes.
func TestSteps(t *testing.T) {
	for _, step := range []string{"chain", "tx"} {
		t.Run(step, func(t *testing.T) {
			for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
				t.Run(string(mode), func(t *testing.T) {
					labtest.Passes(t, "xdpcap", labs.Options{Mode: mode, Step: step})
				})
			}
		})
	}
}

// TestExercises: for the base exercise and each step, the starter that
// init writes compiles, loads and fails check with hints naming its TODOs;
// the solution passes; in both modes.
func TestExercises(t *testing.T) {
	labtest.ExercisesGraded(t, "xdpcap")
}

// TestChainBadObjects: an object the chain step cannot use is refused, by
// up and run, before anything is created, saying what the step needs.
func TestChainBadObjects(t *testing.T) {
	for _, c := range []struct {
		name, obj string
		want      []string
	}{
		{"the base exercise's program", labtest.Obj("xdpcap", "hook_btf.o"), []string{
			`no program named "xdp_udp" (have: xdp_main)`, `no map named "jmp_table" (have: xdpcap_hook); the lab expects a map of type ProgramArray`}},
		{"nothing in front of xdp_udp", labtest.Obj("xdpcap", "chain_udp_only.o"), []string{
			`no XDP program (have: xdp_udp); the chain step attaches one program in SEC("xdp") besides xdp_udp, which it tail-calls through jmp_table`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r := labtest.Runner(t)
			opts := labs.Options{Obj: c.obj, Step: "chain"}
			_, runErr := r.Run(context.Background(), []string{"xdpcap"}, opts)
			upErr := r.Up(context.Background(), "xdpcap", opts)
			for _, err := range []error{runErr, upErr} {
				if !errors.Is(err, loader.ErrBadObject) {
					t.Fatalf("error %v, want an unusable object", err)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
		})
	}
}
