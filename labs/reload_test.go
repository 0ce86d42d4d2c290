package labs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/labtest"
)

// fileOrigin is the origin of an object file, as check --watch reads it.
func fileOrigin(t *testing.T, obj string) (provenance.Origin, []byte) {
	t.Helper()
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	return provenance.Origin{Kind: provenance.KindObj, Obj: obj, SHA256: provenance.Sum(b)}, b
}

// attachedProg is the program the lab's record says runs on node1/veth1,
// and the kernel's tag of it (the hash of its instructions).
func attachedProg(t *testing.T, r *labs.Runner) (state.Lab, uint32, string) {
	t.Helper()
	up, err := r.UpLabs()
	if err != nil || len(up) != 1 || len(up[0].Attached) != 1 {
		t.Fatalf("labs up: %+v, %v", up, err)
	}
	id := up[0].Attached[0].ProgID
	prog, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
	if err != nil {
		t.Fatalf("program %d of the record: %v", id, err)
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	return up[0], id, info.Tag
}

// TestReload: Reload replaces the program of a lab up with --obj in the
// same namespaces and records the new origin; an object the lab refuses
// changes nothing; one the verifier refuses is replaced by the fallback,
// and without one the lab is left with no program, which the error and
// check both say, with the commands that rebuild it.
func TestReload(t *testing.T) {
	testutils.RequirePrivileged(t)
	ctx := context.Background()
	r := labtest.Runner(t)
	t.Cleanup(func() { r.Down(ctx, "") })
	legacy, legacyBytes := fileOrigin(t, labtest.Obj("packet_counter", "legacy_packet_count.o"))
	if err := r.Up(ctx, "packet_counter", labs.Options{Obj: legacy.Obj}); err != nil {
		t.Fatal(err)
	}
	node1 := r.Instance + "-packet_counter-node1"
	ino := testutils.NetnsInode(t, node1)
	_, upID, _ := attachedProg(t, r)

	wrong, _ := fileOrigin(t, labtest.WrongNames())
	err := r.Reload(ctx, "packet_counter", wrong, legacyBytes)
	if err == nil || !strings.Contains(err.Error(), `no program named "packet_count"`) {
		t.Errorf("reload of an object with other names = %v", err)
	}
	if _, id, _ := attachedProg(t, r); id != upID {
		t.Errorf("a refused object changed the program: %d, was %d", id, upID)
	}

	drops, dropsBytes := fileOrigin(t, labtest.Obj("packet_counter", "drops_udp.o"))
	if err := r.Reload(ctx, "packet_counter", drops, legacyBytes); err != nil {
		t.Fatalf("reload drops_udp.o: %v", err)
	}
	rec, dropsID, dropsTag := attachedProg(t, r)
	if dropsID == upID || rec.Origin == nil || *rec.Origin != drops || rec.Obj != legacy.Obj || rec.LastCheck != nil {
		t.Errorf("after the reload: prog %d (was %d), record %+v; want a new program, origin %+v, obj as up gave it, no check yet", dropsID, upID, rec, drops)
	}
	if testutils.NetnsInode(t, node1) != ino {
		t.Error("the reload made node1's namespace again")
	}
	wantUDPDropped := func(what string) {
		t.Helper()
		reports, err := r.Check(ctx, "packet_counter")
		if err != nil || len(reports) != 1 || reports[0].Verdict != labs.VerdictFail || reports[0].Origin.SHA256 != drops.SHA256 {
			t.Fatalf("%s: check = %+v, %v; want a fail graded on drops_udp.o", what, reports, err)
		}
	}
	wantUDPDropped("drops_udp.o loaded")

	bad, _ := fileOrigin(t, labtest.Obj("packet_counter", "unbounded_read.o"))
	err = r.Reload(ctx, "packet_counter", bad, dropsBytes)
	if err == nil || !strings.Contains(err.Error(), "the verifier rejected the program") || errors.Is(err, labs.ErrNoProgram) {
		t.Errorf("reload of a program the verifier refuses, with a fallback = %v", err)
	}
	rec, id, tag := attachedProg(t, r)
	if tag != dropsTag || id == dropsID || *rec.Origin != drops {
		t.Errorf("after the fallback: prog %d tag %s, origin %+v; want drops_udp.o loaded again (tag %s)", id, tag, rec.Origin, dropsTag)
	}
	wantUDPDropped("drops_udp.o put back")

	err = r.Reload(ctx, "packet_counter", bad, nil)
	down, up := "`xdplab down packet_counter --instance "+r.Instance+"`", "`xdplab up packet_counter --obj "+legacy.Obj+" --instance "+r.Instance+"`"
	if !errors.Is(err, labs.ErrNoProgram) || !strings.Contains(err.Error(), "packet_counter runs no program now") ||
		!strings.Contains(err.Error(), down) || !strings.Contains(err.Error(), up) {
		t.Errorf("reload of a program the verifier refuses, without a fallback = %v", err)
	}
	reports, err := r.Check(ctx, "packet_counter")
	if err != nil || len(reports) != 1 || reports[0].Verdict != labs.VerdictError ||
		!strings.Contains(reports[0].Error, "no XDP program attached") || !strings.Contains(reports[0].Error, down) {
		t.Errorf("check of a lab left with no program = %+v, %v", reports, err)
	}
	if err := r.Reload(ctx, "packet_counter", legacy, nil); err != nil {
		t.Fatalf("reload after a lab was left with no program: %v", err)
	}
	reports, err = r.Check(ctx, "packet_counter")
	if err != nil || len(reports) != 1 || !reports[0].Pass {
		t.Errorf("check after the lab got a program back = %+v, %v", reports, err)
	}
	if testutils.NetnsInode(t, node1) != ino {
		t.Error("the reloads made node1's namespace again")
	}

	// A lab that runs its embedded program has nothing of the learner's
	// to reload.
	if _, err := r.Down(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Up(ctx, "packet_counter", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(ctx, "packet_counter", legacy, nil); !errors.Is(err, labs.ErrUsage) {
		t.Errorf("reload of the embedded program = %v, want a usage error", err)
	}
	if _, err := r.Down(ctx, ""); err != nil {
		t.Fatal(err)
	}
}

// TestReloadEveryLab: every lab's Up runs again in the topology it built,
// after Reload took its programs away, and the lab passes its check with
// the program loaded again: in each mode where a lab's Up does more (the
// peers' programs of redirect in native mode), and with a lab's flags.
func TestReloadEveryLab(t *testing.T) {
	testutils.RequirePrivileged(t)
	ctx := context.Background()
	reg := course.Registry()
	for _, name := range reg.Names() {
		info, err := reg.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		modes := []labs.Mode{""}
		if name == "redirect" {
			modes = append(modes, labs.ModeNative)
		}
		for _, mode := range modes {
			t.Run(strings.TrimSuffix(name+"/"+string(mode), "/"), func(t *testing.T) {
				r := labtest.Runner(t)
				t.Cleanup(func() { r.Down(ctx, "") })
				obj := filepath.Join(t.TempDir(), name+".o")
				ref := info.Info().Object
				if err := os.WriteFile(obj, ref, 0o644); err != nil {
					t.Fatal(err)
				}
				opts := labs.Options{Obj: obj, Mode: mode}
				if name == "basic_firewall" {
					opts.Values = map[string][]string{"drop": {"10.9.9.0/24"}}
				}
				if err := r.Up(ctx, name, opts); err != nil {
					t.Fatal(err)
				}
				origin, b := fileOrigin(t, obj)
				if err := r.Reload(ctx, name, origin, b); err != nil {
					t.Fatalf("reload: %v", err)
				}
				reports, err := r.Check(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				testutils.RequirePass(t, reports)
				if _, err := r.Down(ctx, ""); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
