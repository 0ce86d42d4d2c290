package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// TestModeRefusedWithoutXDP: `up sockex1 --mode native` is a usage error
// that says why and what to run instead, and builds nothing.
func TestModeRefusedWithoutXDP(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	for _, args := range [][]string{{"up", "sockex1", "--mode", "native"}, {"run", "sockex1", "--mode", "generic"}} {
		r := xdplab(t, inst, args...)
		wantError(t, r, "sockex1 has no XDP program (its bpf_prog1 is a socket filter): --mode does not apply; run `xdplab "+args[0]+" sockex1 --instance "+inst+"`")
		if left := testutils.Leftovers(inst); len(left) > 0 {
			t.Errorf("%s left %v", strings.Join(args, " "), left)
		}
	}
}

// TestRunAllNative: `run --all --mode native` runs every lab of the
// registry: the XDP ones in native mode, a lab whose base exercise cannot
// run natively (icmp_drop on lo) in its own mode, and sockex1 without one;
// the reports and the summary say how each ran instead.
func TestRunAllNative(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	r := xdplab(t, inst, "run", "--all", "--mode", "native", "--json")
	if r.code != 0 {
		t.Fatalf("run --all --mode native: %s", r)
	}
	var doc struct {
		Reports []struct {
			Lab  string `json:"lab"`
			Mode string `json:"mode"`
			Note string `json:"note"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	reg := course.Registry()
	if len(doc.Reports) != len(reg.Names()) {
		t.Fatalf("%d reports, want one per lab (%d):\n%s", len(doc.Reports), len(reg.Names()), r.stdout)
	}
	for i, rep := range doc.Reports {
		if want := reg.Names()[i]; rep.Lab != want {
			t.Errorf("report %d is of %s, want %s (course order)", i+1, rep.Lab, want)
		}
		l, err := reg.Get(rep.Lab)
		if err != nil {
			t.Fatal(err)
		}
		modes := l.Info().ForStep("").Modes
		switch {
		case len(modes) == 0 && (rep.Mode != "" || !strings.Contains(rep.Note, "does not apply")):
			t.Errorf("%s: mode %q, note %q; want no mode and a note", rep.Lab, rep.Mode, rep.Note)
		case len(modes) > 0 && !slices.Contains(modes, labs.ModeNative) &&
			(rep.Mode != string(modes[0]) || !strings.Contains(rep.Note, "--mode native does not apply")):
			t.Errorf("%s: mode %q, note %q; want %s and a note", rep.Lab, rep.Mode, rep.Note, modes[0])
		case slices.Contains(modes, labs.ModeNative) && rep.Mode != "native":
			t.Errorf("%s ran in mode %q, want native", rep.Lab, rep.Mode)
		}
	}
	for _, want := range []string{"== sockex1\n   --mode native does not apply", "== icmp_drop (generic)\n   --mode native does not apply: icmp_drop's base exercise"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("run does not say how a lab ran (%q):\n%s", want, r.stderr)
		}
	}
}
