package xdpcap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
)

// interrupted stands in for a check killed while jmp_table's slot is
// empty: its undo fails, so the record stays behind as a SIGKILL leaves it.
type interrupted struct{}

func (interrupted) Undo(*labs.Env, labs.UndoRecord) error { return errors.New("killed") }

// upChain brings the lab up in the chain step on an instance of the test's
// own, through a registry of this lab alone, and takes it down at the end.
func upChain(t *testing.T) *labs.Runner {
	t.Helper()
	testutils.RequirePrivileged(t)
	reg := labs.NewRegistry()
	if err := reg.Register(New()); err != nil {
		t.Fatal(err)
	}
	r := &labs.Runner{Registry: reg, Instance: testutils.Instance(t)}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if err := r.Up(context.Background(), labName, labs.Options{Step: stepChain}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChainSlotPutBack: a chain check killed before or after it emptied
// jmp_table's slot leaves its undo record; the next command on the
// instance puts xdp_udp back (check then passes) and removes the record.
func TestChainSlotPutBack(t *testing.T) {
	for _, emptied := range []bool{false, true} {
		name := map[bool]string{false: "record only", true: "slot emptied"}[emptied]
		t.Run(name, func(t *testing.T) {
			r := upChain(t)
			ctx := context.Background()
			_, env, err := r.Open(labName)
			if err != nil {
				t.Fatal(err)
			}
			defer env.Topo.Close()
			jmp, err := ebpf.LoadPinnedMap(env.Pin(chainMap), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer jmp.Close()
			udp, err := ebpf.LoadPinnedProgram(env.Pin(chainProgPin), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer udp.Close()
			info, err := udp.Info()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := info.ID()
			slot := func() ebpf.ProgramID {
				var id uint32
				if err := jmp.Lookup(uint32(chainSlot), &id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
					t.Fatal(err)
				}
				return ebpf.ProgramID(id)
			}

			err = env.WithUndo(interrupted{}, undoChain, chainChange{Slot: chainSlot}, func() error {
				if emptied {
					return jmp.Delete(uint32(chainSlot))
				}
				return nil
			})
			if err == nil {
				t.Fatal("the interrupted undo did not fail")
			}
			record := filepath.Join("/run/xdplab", r.Instance, labName+"."+undoChain+".undo")
			if _, err := os.Stat(record); err != nil {
				t.Fatalf("no undo record pending: %v", err)
			}
			if emptied && slot() != 0 {
				t.Fatal("the simulated kill did not empty the slot")
			}

			reports, err := r.Check(ctx, labName)
			if err != nil {
				t.Fatal(err)
			}
			testutils.RequirePass(t, reports)
			if got := slot(); got != want {
				t.Errorf("%s[%d] holds program %d after the next command, want %s (%d)", chainMap, chainSlot, got, chainProg, want)
			}
			if _, err := os.Stat(record); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("undo record still there: %v", err)
			}
		})
	}
}

// TestChainSlotDiagnosed: status names an emptied jmp_table slot as a
// problem of the chain step, and says how to put xdp_udp back.
func TestChainSlotDiagnosed(t *testing.T) {
	r := upChain(t)
	problems := func() []labs.Problem {
		st, err := r.Status()
		if err != nil {
			t.Fatal(err)
		}
		return st.Labs[0].Problems
	}
	if p := problems(); len(p) != 0 {
		t.Fatalf("problems right after up: %+v", p)
	}
	jmp, err := ebpf.LoadPinnedMap(filepath.Join(r.PinDir(labName), chainMap), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jmp.Close()
	if err := jmp.Delete(uint32(chainSlot)); err != nil {
		t.Fatal(err)
	}
	p := problems()
	if len(p) != 1 || p[0].What != "jmp_table[0] is empty: xdp_discard's tail call fails, and every UDP datagram goes to XDP_ABORTED" ||
		!strings.Contains(p[0].Fix, "xdplab up xdpcap --step chain --instance "+r.Instance) {
		t.Errorf("problems with the slot empty: %+v", p)
	}
}
