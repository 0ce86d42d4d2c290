package xdpcap_test

import (
	"strings"
	"testing"

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
// host, the pings and datagrams fail as expectations that say so, with
// their hints, not as an error, and the capture's own expectations are
// still checked.
func TestCheckGoesOnAfterTrafficFails(t *testing.T) {
	rep := labtest.CheckAfter(t, "xdpcap", labs.Options{}, func(t *testing.T, env *labs.Env) {
		labtest.Unreachable(t, env, "sender", "dut")
	})
	got := map[string]labs.Result{}
	for _, r := range rep.Results {
		got[r.Name] = r
	}
	for _, want := range []struct {
		name     string
		pass     bool
		observed string
	}{
		{"3 pings host -> 192.168.0.2 are answered", false, "0 replies; 3 requests could not be sent (host unreachable)"},
		{"5 UDP datagrams host -> 192.168.0.2:7777 arrive", false, "0 of 5 datagrams arrived (sending failed: "},
		{"XDPdrop holds the 5 datagrams to port 9 and nothing else", false, "0 to port 9, 0 other (sending to port 9 failed: "},
		{"no datagram to port 9 is passed", true, "0"},
		{"the lab program is back on its link after --entry", true, "true"},
	} {
		r, ok := got[want.name]
		switch {
		case !ok:
			_, _, text := rep.Describe()
			t.Errorf("no expectation %q:\n%s", want.name, text)
		case r.Pass != want.pass || !strings.HasPrefix(r.Observed, want.observed):
			t.Errorf("%q: pass %v, observed %q; want pass %v, observed %q...", want.name, r.Pass, r.Observed, want.pass, want.observed)
		case !r.Pass && r.Hint == "":
			t.Errorf("%q fails without a hint", want.name)
		}
	}
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
