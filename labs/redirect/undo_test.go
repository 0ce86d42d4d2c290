package redirect

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
)

// interrupted stands in for a check killed while its changes are in place:
// its undo fails, so the record stays behind as a SIGKILL leaves it.
type interrupted struct{}

func (interrupted) Undo(*labs.Env, labs.UndoRecord) error { return errors.New("killed") }

// labState is what the check changes for a moment: the programs on
// node1's interfaces, if_redirect and node1's neighbour entry for the host.
type labState struct {
	Programs  map[string]uint32
	Devmap    []devmapEntry
	Neighbour *neighbour
}

func snapshot(t *testing.T, env *labs.Env) labState {
	t.Helper()
	s := labState{Programs: map[string]uint32{}}
	for _, iface := range reflectors {
		l, err := env.Topo.MustNS("node1").Netlink().LinkByName(iface)
		if err != nil {
			t.Fatal(err)
		}
		if x := l.Attrs().Xdp; x != nil {
			s.Programs[iface] = x.ProgId
		}
	}
	var err error
	if s.Devmap, _, err = readDevmap(env); err != nil {
		t.Fatal(err)
	}
	if s.Neighbour, err = findNeighbour(env.Topo.MustRole("dut"), env.Topo.MustRole("sender").Addr.Addr()); err != nil {
		t.Fatal(err)
	}
	return s
}

// upLab brings the lab up on an instance of the test's own and opens it as
// a command would.
func upLab(t *testing.T, mode labs.Mode) (*labs.Runner, *labs.Env) {
	t.Helper()
	testutils.RequirePrivileged(t)
	reg := labs.NewRegistry()
	if err := reg.Register(New()); err != nil {
		t.Fatal(err)
	}
	r := &labs.Runner{Registry: reg, Instance: testutils.Instance(t)}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if err := r.Up(context.Background(), "redirect", labs.Options{Mode: mode}); err != nil {
		t.Fatal(err)
	}
	_, env, err := r.Open("redirect")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Topo.Close)
	return r, env
}

// TestUndoAfterEveryStep leaves the check's changes made up to each of its
// steps under a pending record, as a kill between two steps would, and
// expects the next command on the instance to take them all back: xdp_test
// on both of node1's links, every entry of if_redirect, node1's permanent
// neighbour entry for the host, and no record left.
func TestUndoAfterEveryStep(t *testing.T) {
	steps := []string{"record only", "xdp_pass swapped in", "if_redirect emptied", "neighbour deleted"}
	for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
		for n := range steps {
			t.Run(string(mode)+"/"+steps[n], func(t *testing.T) {
				ctx := context.Background()
				r, env := upLab(t, mode)
				before := snapshot(t, env)
				if len(before.Devmap) != len(reflectors) || before.Neighbour == nil || len(before.Programs) != len(reflectors) {
					t.Fatalf("the lab is not as up makes it: %+v", before)
				}
				ch, err := plan(env)
				if err != nil {
					t.Fatal(err)
				}
				made := []func() error{
					func() error {
						sw, err := openSwapper(env)
						if err != nil {
							return err
						}
						defer sw.Close()
						return sw.use(sw.pass)
					},
					func() error { return setDevmap(env, ch.Devmap, true) },
					func() error { return ch.Neighbour.delete(env) },
				}
				err = env.WithUndo(interrupted{}, undoKind, ch, func() error {
					for _, step := range made[:n] {
						if err := step(); err != nil {
							return err
						}
					}
					return nil
				})
				if err == nil {
					t.Fatal("the interrupted undo did not fail")
				}
				record := filepath.Join("/run/xdplab", r.Instance, "redirect."+undoKind+".undo")
				if _, err := os.Stat(record); err != nil {
					t.Fatalf("no undo record pending: %v", err)
				}
				if n > 0 && reflect.DeepEqual(before, snapshot(t, env)) {
					t.Fatal("the simulated steps changed nothing")
				}

				// Any command that takes the instance lock replays the record.
				if err := r.WithLab(ctx, "redirect", func(labs.Lab, *labs.Env) error { return nil }); err != nil {
					t.Fatal(err)
				}
				if after := snapshot(t, env); !reflect.DeepEqual(before, after) {
					t.Errorf("after %s and the next command:\nbefore %+v\nafter  %+v", steps[n], before, after)
				}
				if _, err := os.Stat(record); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("undo record still there: %v", err)
				}
			})
		}
	}
}

// TestUndoWhatIsGone: a record whose lab lost its pins (a half-removed lab)
// is taken back without error, since what it would restore is gone too.
func TestUndoWhatIsGone(t *testing.T) {
	_, env := upLab(t, labs.ModeGeneric)
	ch, err := plan(env)
	if err != nil {
		t.Fatal(err)
	}
	for _, pin := range []string{progPin, mapRedirect, reflectorPin("veth1"), reflectorPin("veth2")} {
		if err := os.Remove(env.Pin(pin)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := json.Marshal(ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := New().Undo(env, labs.UndoRecord{Lab: "redirect", Kind: undoKind, Data: data}); err != nil {
		t.Errorf("undo of a lab without its pins: %v", err)
	}
}
