package xdpexception_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/internal/xdpexception"
	"github.com/xdplab/xdplab/topology"
	"github.com/xdplab/xdplab/topology/topotest"
)

// returning is an XDP program that returns act for every frame.
func returning(t *testing.T, act int32) *ebpf.Program {
	t.Helper()
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, act), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func progID(t *testing.T, p *ebpf.Program) ebpf.ProgramID {
	t.Helper()
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.ID()
	if !ok {
		t.Fatal("program has no id")
	}
	return id
}

// TestWatch attaches programs that end every frame in one action to
// node1/veth1 of a pair, in both modes, writes frames to it from the host,
// and expects the watcher of that program to count exactly the exceptions:
// XDP_ABORTED and a value that is no action, never XDP_DROP; a watcher of
// another program counts nothing.
func TestWatch(t *testing.T) {
	for _, mode := range []struct {
		name  string
		flags link.XDPAttachFlags
	}{{"generic", link.XDPGenericMode}, {"native", link.XDPDriverMode}} {
		for _, c := range []struct {
			name string
			act  int32
			want string
		}{
			{"aborted", xdpexception.Aborted, "3 XDP_ABORTED"},
			{"drop", xdpexception.Drop, "none"},
			{"not an action", 7, "3 an unknown action"},
		} {
			t.Run(mode.name+"/"+c.name, func(t *testing.T) {
				d := topotest.Deploy(t, topology.Pair(), "xdpexc")
				host, node1 := d.MustRole("sender"), d.MustRole("dut")
				prog := returning(t, c.act)
				other := returning(t, xdpexception.Aborted)
				l, err := node1.NS.Netlink().LinkByName(node1.Iface)
				if err != nil {
					t.Fatal(err)
				}
				err = node1.NS.Do(func() error {
					xl, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: l.Attrs().Index, Flags: mode.flags})
					if err == nil {
						t.Cleanup(func() { xl.Close() })
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				w, err := xdpexception.Watch(progID(t, prog))
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				ow, err := xdpexception.Watch(progID(t, other))
				if err != nil {
					t.Fatal(err)
				}
				defer ow.Close()
				for n := range 3 {
					f, err := packet.UDPFrame{SrcMAC: host.MAC, DstMAC: node1.MAC,
						Src: netip.AddrPortFrom(host.Addr.Addr(), uint16(5000+n)), Dst: netip.AddrPortFrom(node1.Addr.Addr(), 9)}.Bytes()
					if err != nil {
						t.Fatal(err)
					}
					if err := witness.Send(host.NS, host.Iface, packet.EtherTypeIPv4, f); err != nil {
						t.Fatal(err)
					}
				}
				// The frames cross the veth pair asynchronously (native
				// mode runs the program in the peer's NAPI poll).
				var got xdpexception.Counts
				for deadline := time.Now().Add(2 * time.Second); ; {
					if got, err = w.Counts(); err != nil {
						t.Fatal(err)
					}
					if got.String() == c.want || time.Now().After(deadline) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if c.want == "none" {
					time.Sleep(200 * time.Millisecond)
					got, _ = w.Counts()
				}
				if got.String() != c.want {
					t.Errorf("counted %s, want %s", got, c.want)
				}
				if o, err := ow.Counts(); err != nil || o.Total() != 0 {
					t.Errorf("the watcher of another program counted %s (%v)", o, err)
				}
			})
		}
	}
}

func TestCounts(t *testing.T) {
	before := xdpexception.Counts{xdpexception.Aborted: 2}
	after := xdpexception.Counts{xdpexception.Aborted: 5, xdpexception.TX: 1}
	if got := after.Sub(before).String(); got != "3 XDP_ABORTED, 1 XDP_TX" {
		t.Errorf("Sub = %s", got)
	}
	if got := (xdpexception.Counts{}).String(); got != "none" {
		t.Errorf("empty counts = %q", got)
	}
	if after.Total() != 6 {
		t.Errorf("Total = %d", after.Total())
	}
}
