package grade_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
	"github.com/xdplab/xdplab/topology/topotest"
)

// attachReturning attaches, in generic mode, an XDP program that returns
// action for every frame to p's interface, until the test ends.
func attachReturning(t *testing.T, p topology.Place, action capture.Action) {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, int32(action)), asm.Return()}})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	l, err := p.NS.Netlink().LinkByName(p.Iface)
	if err != nil {
		t.Fatal(err)
	}
	var xl link.Link
	if err := p.NS.Do(func() (err error) {
		xl, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: l.Attrs().Index, Flags: link.XDPGenericMode})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { xl.Close() })
}

// TestVerdictAndCPUs: Verdict tells what the attached program returns,
// XDP_ABORTED apart from XDP_DROP; FramesOnCPUs sends a frame from each
// CPU and says which did not arrive.
func TestVerdictAndCPUs(t *testing.T) {
	d := topotest.Deploy(t, topology.Pair(), "verdict")
	sender, dut := d.MustRole("sender"), d.MustRole("dut")
	cpus, err := grade.CPUs()
	if err != nil || len(cpus) == 0 {
		t.Fatalf("CPUs: %v, %v", cpus, err)
	}
	var frames [][]byte
	for i := range cpus {
		f, err := packet.UDPFrame{SrcMAC: sender.MAC, DstMAC: dut.MAC, Src: netip.AddrPortFrom(sender.Addr.Addr(), uint16(40000+i)),
			Dst: netip.AddrPortFrom(dut.Addr.Addr(), 9)}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}

	if _, err := grade.Verdict(dut, frames[0]); err == nil || err.Error() != "no XDP program is attached to node1/veth1" {
		t.Errorf("Verdict without a program: %v", err)
	}
	w, err := grade.FramesOnCPUs(t.Context(), sender, dut, "datagrams", packet.EtherTypeIPv4, frames, cpus)
	if err != nil || w.Arrived != len(cpus) || len(w.Missing) != 0 {
		t.Errorf("FramesOnCPUs without a program: %+v, %v; want all %d arrived", w, err, len(cpus))
	}

	attachReturning(t, dut, capture.Aborted)
	if a, err := grade.Verdict(dut, frames[0]); err != nil || a != capture.Aborted || grade.ActionName(a) != "XDP_ABORTED" {
		t.Errorf("Verdict of a program that aborts: %v, %v", a, err)
	}
	i, a, err := grade.FirstNotPassed(dut, frames)
	if err != nil || i != 0 || a != capture.Aborted {
		t.Errorf("FirstNotPassed: %d, %v, %v; want 0, XDP_ABORTED", i, a, err)
	}
	w, err = grade.FramesOnCPUs(t.Context(), sender, dut, "datagrams", packet.EtherTypeIPv4, frames, cpus)
	if err != nil || w.Arrived != 0 || len(w.Missing) != len(cpus) {
		t.Errorf("FramesOnCPUs through a program that aborts: %+v, %v; want none arrived", w, err)
	}
	if r := grade.FramesArrived("", w, "h"); r.Pass || !strings.HasPrefix(r.Observed, "0 of ") {
		t.Errorf("%+v", r)
	}
	if s := grade.ActionName(7); !strings.Contains(s, "not an XDP action") {
		t.Errorf("Action(7) = %q", s)
	}
}
