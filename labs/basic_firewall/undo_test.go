package basicfirewall

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
)

// interrupted stands in for a check killed while its changes are in place:
// its undo fails, so the record stays behind as a SIGKILL leaves it.
type interrupted struct{}

func (interrupted) Undo(*labs.Env, labs.UndoRecord) error { return errors.New("killed") }

// TestUndoAfterEveryStep leaves the check's changes made up to each of its
// steps under a pending record, as a kill between two steps would, in
// every exercise (16-byte counters in the bytes step, IPv6 rules in the
// ipv6 step), and expects the next command on the instance (fw list) to
// take them all back: rules, every counter on every CPU and the addresses
// as they were, and no record left.
func TestUndoAfterEveryStep(t *testing.T) {
	steps := []string{"record only", "host addresses", "node1 address", "neighbours", "decoys", "rules", "counted"}
	for _, exercise := range []string{"", stepBytes, stepIPv6} {
		for n := range steps {
			t.Run(labs.Step{Name: exercise}.Title()+"/"+steps[n], func(t *testing.T) {
				testutils.RequirePrivileged(t)
				undoAfter(t, exercise, n, steps[n])
			})
		}
	}
}

func undoAfter(t *testing.T, step string, n int, name string) {
	ctx := context.Background()
	reg := labs.NewRegistry()
	if err := reg.Register(New()); err != nil {
		t.Fatal(err)
	}
	r := &labs.Runner{Registry: reg, Instance: testutils.Instance(t)}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	drop := []string{"192.168.0.0/24"}
	if step == stepIPv6 {
		drop = append(drop, "2001:db8::/32")
	}
	if err := r.Up(ctx, labName, labs.Options{Step: step, Values: map[string][]string{dropFlag: drop}}); err != nil {
		t.Fatal(err)
	}
	_, env, err := r.Open(labName)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Topo.Close()
	m, err := openMaps(env, false, step == stepIPv6)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Every counter gets its own value on every CPU, the rules' too.
	for i := range m.matches.MaxEntries() {
		v := make([][]byte, ebpf.MustPossibleCPU())
		for cpu := range v {
			v[cpu] = make([]byte, m.matches.ValueSize())
			for b := range v[cpu] {
				v[cpu][b] = byte(10*int(i) + cpu + b + 1)
			}
		}
		if err := m.matches.Update(i, v, ebpf.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() any {
		rules, err := m.rules()
		if err != nil {
			t.Fatal(err)
		}
		var counters [][][]byte
		for i := range m.matches.MaxEntries() {
			v, err := m.slot(i)
			if err != nil {
				t.Fatal(err)
			}
			counters = append(counters, v)
		}
		var addrs []string
		for _, node := range []string{"host", "node1"} {
			h := env.Topo.MustNS(node).Netlink()
			as, _ := h.AddrList(nil, netlink.FAMILY_V4)
			for _, a := range as {
				addrs = append(addrs, node+" "+a.IPNet.String())
			}
			ns, _ := h.NeighList(0, netlink.FAMILY_V4)
			for _, nb := range ns {
				if a, _ := netip.AddrFromSlice(nb.IP); !netip.MustParsePrefix("192.168.0.0/24").Contains(a.Unmap()) {
					addrs = append(addrs, node+" neighbour "+nb.IP.String())
				}
			}
		}
		slices.Sort(addrs)
		return []any{rules, counters, addrs}
	}
	before := snapshot()
	rules, err := m.rules()
	if err != nil {
		t.Fatal(err)
	}
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	ch, err := m.plan(rules, nil, dut.Addr.Addr(), step == stepIPv6)
	if err != nil {
		t.Fatal(err)
	}
	hostLink, _ := env.Topo.MustNS("host").Netlink().LinkByName("veth0")
	node1Link, _ := env.Topo.MustNS("node1").Netlink().LinkByName("veth1")
	c := &checker{m: m, ch: ch}
	made := []func() error{
		func() error {
			for _, a := range ch.HostAddrs {
				if err := addAddr(sender, a); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return addAddr(dut, ch.Node1Addr) },
		func() error {
			for _, a := range ch.HostAddrs {
				err := env.Topo.MustNS("node1").Netlink().NeighSet(&netlink.Neigh{
					LinkIndex: node1Link.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
					IP: a.Addr().AsSlice(), HardwareAddr: hostLink.Attrs().HardwareAddr,
				})
				if err != nil {
					return err
				}
			}
			return env.Topo.MustNS("host").Netlink().NeighSet(&netlink.Neigh{
				LinkIndex: hostLink.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
				IP: ch.Node1Addr.Addr().AsSlice(), HardwareAddr: node1Link.Attrs().HardwareAddr,
			})
		},
		func() error { return c.install(roleDst, roleSwapped, roleDst6) },
		func() error { return c.install(roleOwn, roleWide, roleOwn6, roleWide6, roleShort6) },
		func() error {
			for _, r := range ch.Rules {
				if err := m.resetCount(r.Index); err != nil {
					return err
				}
			}
			return nil
		},
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
		t.Fatalf("the interrupted undo did not fail: %v", err)
	}
	record := filepath.Join("/run/xdplab", r.Instance, "basic_firewall.check.undo")
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("no undo record pending: %v", err)
	}
	if n > 0 && reflect.DeepEqual(before, snapshot()) {
		t.Fatal("the simulated steps changed nothing")
	}

	if _, err := List(ctx, r); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(); !reflect.DeepEqual(before, after) {
		t.Errorf("after %s and fw list:\nbefore %v\nafter  %v", name, before, after)
	}
	if _, err := os.Stat(record); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("undo record still there: %v", err)
	}
}
