package icmpdrop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
)

// interrupted stands in for a check killed while xdp_pass runs in the
// program's place: its undo fails, so the record stays as a SIGKILL leaves
// it.
type interrupted struct{}

// upForTest brings the lab up at step on an instance of the test's own,
// which the cleanup takes down, and opens it.
func upForTest(t *testing.T, step string) (*labs.Runner, *labs.Env) {
	t.Helper()
	testutils.RequirePrivileged(t)
	reg := labs.NewRegistry()
	if err := reg.Register(New()); err != nil {
		t.Fatal(err)
	}
	r := &labs.Runner{Registry: reg, Instance: testutils.Instance(t)}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if err := r.Up(context.Background(), progName, labs.Options{Step: step}); err != nil {
		t.Fatal(err)
	}
	_, env, err := r.Open(progName)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Topo.Close)
	return r, env
}

func (interrupted) Undo(*labs.Env, labs.UndoRecord) error { return errors.New("killed") }

// TestUndoAfterSwap leaves xdp_pass in the program's link under a pending
// record, as a check killed between its two phases would, and expects the
// next check to put icmp_drop back first (and pass); the record is gone.
// A record whose swap never happened is taken back as well.
func TestUndoAfterSwap(t *testing.T) {
	for _, c := range []struct {
		name, step string
		swap       bool
	}{{"lo swapped", "", true}, {"veth1 swapped", stepVeth1, true}, {"record only", stepVeth1, false}} {
		t.Run(c.name, func(t *testing.T) {
			r, env := upForTest(t, c.step)
			iface := exercises[c.step].iface
			running := func() string {
				p, ok, err := attached.XDP(env.Topo.MustNS("node1"), iface)
				if err != nil || !ok {
					t.Fatalf("node1/%s: attached %v, %v", iface, ok, err)
				}
				return p.Name
			}
			lnk, err := link.LoadPinnedLink(env.Pin(linkPin(iface)), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer lnk.Close()
			err = env.WithUndo(interrupted{}, undoKind, swappedOut{Iface: iface}, func() error {
				if c.swap {
					return standIn(lnk)
				}
				return nil
			})
			if err == nil {
				t.Fatal("the interrupted undo did not fail")
			}
			if _, err := os.Stat(filepath.Join("/run/xdplab", r.Instance, progName+"."+undoKind+".undo")); err != nil {
				t.Fatalf("no undo record pending: %v", err)
			}
			if want := map[bool]string{true: "xdp_pass", false: progName}[c.swap]; running() != want {
				t.Fatalf("node1/%s runs %s, want %s", iface, running(), want)
			}

			reports, err := r.Check(context.Background(), progName)
			if err != nil {
				t.Fatal(err)
			}
			testutils.RequirePass(t, reports)
			if got := running(); got != progName {
				t.Errorf("after the next check node1/%s runs %s, want %s", iface, got, progName)
			}
			if _, err := os.Stat(filepath.Join("/run/xdplab", r.Instance, progName+"."+undoKind+".undo")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the undo record is still there: %v", err)
			}
		})
	}
}
