package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
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

// TestRunAllNative: `run --all --mode native` runs every lab, the XDP ones
// in native mode and sockex1 in its own way, which its report and the
// summary say instead of a mode.
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
	if len(doc.Reports) < 6 {
		t.Fatalf("%d reports, want every lab:\n%s", len(doc.Reports), r.stdout)
	}
	reg := course.Registry()
	for _, rep := range doc.Reports {
		l, err := reg.Get(rep.Lab)
		if err != nil {
			t.Fatal(err)
		}
		noXDP := !l.Info().XDP() // sockex1, the tracing labs
		switch {
		case noXDP && (rep.Mode != "" || !strings.Contains(rep.Note, "does not apply")):
			t.Errorf("%s: mode %q, note %q; want no mode and a note", rep.Lab, rep.Mode, rep.Note)
		case !noXDP && rep.Mode != "native":
			t.Errorf("%s ran in mode %q, want native", rep.Lab, rep.Mode)
		}
	}
	if !strings.Contains(r.stderr, "== sockex1\n   --mode native does not apply") {
		t.Errorf("run does not say how sockex1 ran:\n%s", r.stderr)
	}
}
