package witness_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/topology"
	"github.com/xdplab/xdplab/topology/topotest"
)

// quiet is the tests' wait for stragglers (grade.Quiet in checks).
const quiet = 250 * time.Millisecond

func open(t *testing.T, p topology.Place, opts witness.Options) *witness.Witness {
	t.Helper()
	w, err := witness.Open(p.NS, p.Iface, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// echoes lists a witness's ICMP echo frames as "out request 1" and the like.
func echoes(frames []witness.Frame, id int) []string {
	var out []string
	for _, f := range frames {
		p := &f.Packet
		if !p.Has(packet.LayerIPv4|packet.LayerICMPv4) || int(p.ICMPv4.ID) != id {
			continue
		}
		s := "in"
		if f.Out {
			s = "out"
		}
		switch p.ICMPv4.Type {
		case packet.ICMPv4EchoRequest:
			s += " request " + p.IPv4.Src.String() + ">" + p.IPv4.Dst.String()
		case packet.ICMPv4EchoReply:
			s += " reply " + p.IPv4.Src.String() + ">" + p.IPv4.Dst.String()
		}
		out = append(out, fmt.Sprintf("%s seq %d", s, p.ICMPv4.Seq))
	}
	return out
}

func TestLive(t *testing.T) {
	d := topotest.Deploy(t, topology.Pair(), "witness")
	sender, dut := d.MustRole("sender"), d.MustRole("dut")
	src, dst := sender.Addr.Addr(), dut.Addr.Addr()
	ctx := t.Context()

	t.Run("PingsInAndOut", func(t *testing.T) {
		both := open(t, sender, witness.Options{EtherType: packet.EtherTypeIPv4})
		in := open(t, dut, witness.Options{EtherType: packet.EtherTypeIPv4, Direction: witness.In})
		out := open(t, dut, witness.Options{Direction: witness.Out})
		res, err := traffic.Ping(ctx, sender.NS, dst, traffic.PingOptions{Count: 2})
		if err != nil || res.Received != 2 {
			t.Fatalf("ping: %v, %d replies", err, res.Received)
		}
		got, err := witness.Collect(quiet, both, in, out)
		if err != nil {
			t.Fatal(err)
		}
		s, d := src.String(), dst.String()
		want := [][]string{
			{"out request " + s + ">" + d + " seq 1", "in reply " + d + ">" + s + " seq 1", "out request " + s + ">" + d + " seq 2", "in reply " + d + ">" + s + " seq 2"},
			{"in request " + s + ">" + d + " seq 1", "in request " + s + ">" + d + " seq 2"},
			{"out reply " + d + ">" + s + " seq 1", "out reply " + d + ">" + s + " seq 2"},
		}
		for i, w := range want {
			if e := echoes(got[i], res.ID); strings.Join(e, "; ") != strings.Join(w, "; ") {
				t.Errorf("witness %d saw\n  %v\nwant\n  %v", i, e, w)
			}
			for _, f := range got[i] {
				if i < 2 && f.Packet.Ethernet.Type != packet.EtherTypeIPv4 {
					t.Errorf("witness %d kept %s although it keeps IPv4 only", i, f)
				}
				if f.Len != len(f.Data) || f.At.IsZero() {
					t.Errorf("witness %d: frame %s has Len %d, %d bytes, time %v", i, f, f.Len, len(f.Data), f.At)
				}
			}
		}
		if again, err := both.Frames(0); err != nil || len(again) != 0 {
			t.Errorf("a second Frames returned %d frames (%v), want none: each frame is returned once", len(again), err)
		}
	})

	t.Run("OnlyItsInterface", func(t *testing.T) {
		w := open(t, dut, witness.Options{})
		lo := open(t, topology.Place{ResolvedEndpoint: topology.ResolvedEndpoint{Iface: "lo"}, NS: dut.NS}, witness.Options{})
		if _, err := traffic.Ping(ctx, dut.NS, netip.MustParseAddr("127.0.0.1"), traffic.PingOptions{Count: 1}); err != nil {
			t.Fatal(err)
		}
		got, err := witness.Collect(quiet, w, lo)
		if err != nil {
			t.Fatal(err)
		}
		if len(got[0]) != 0 {
			t.Errorf("the witness on %s saw lo's frames: %v", dut.Iface, got[0])
		}
		if len(got[1]) != 4 { // request and reply, each out and in again
			t.Errorf("the witness on lo saw %v, want the request and reply both ways", got[1])
		}
	})

	t.Run("RawFrame", func(t *testing.T) {
		// IPv6 is off in the namespaces: only a raw socket sends this.
		frame, err := packet.TCPFrame{
			SrcMAC: sender.MAC, DstMAC: dut.MAC,
			Src: netip.MustParseAddrPort("[fd00::3]:43910"), Dst: netip.MustParseAddrPort("[fd00::2]:8888"),
			Flags: packet.TCPSyn, Seq: 1, Window: 64240,
		}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		arrived := open(t, dut, witness.Options{EtherType: packet.EtherTypeIPv6, Direction: witness.In})
		left := open(t, sender, witness.Options{Direction: witness.Out})
		if err := witness.Send(sender.NS, sender.Iface, packet.EtherTypeIPv6, frame); err != nil {
			t.Fatal(err)
		}
		same := func(f witness.Frame) bool { return string(f.Data) == string(frame) }
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		f, ok, err := arrived.Await(wctx, same)
		if err != nil || !ok {
			t.Fatalf("the frame did not arrive on %s/%s: %v", dut.Node, dut.Iface, err)
		}
		if f.Out || !f.Packet.Has(packet.LayerIPv6|packet.LayerTCP) || f.Packet.TCP.DstPort != 8888 {
			t.Errorf("arrived as %s (out %v)", f, f.Out)
		}
		if f, ok, err := left.Await(wctx, same); err != nil || !ok || !f.Out {
			t.Errorf("the sender's witness did not see it leave: %v, %v, out %v", ok, err, f.Out)
		}
		// Await looks at what is recorded and not yet taken by Frames too.
		if _, ok, err := arrived.Await(wctx, same); !ok || err != nil {
			t.Errorf("a second Await missed the recorded frame: %v, %v", ok, err)
		}
	})

	t.Run("VLANTagKept", func(t *testing.T) {
		frame := testutils.Serialize(t,
			&layers.Ethernet{SrcMAC: sender.MAC, DstMAC: dut.MAC, EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 42, Priority: 1, Type: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()},
			udpOver(src, dst),
			gopacket.Payload("tagged"),
		)
		w := open(t, dut, witness.Options{EtherType: packet.EtherTypeDot1Q, Direction: witness.In})
		if err := witness.Send(sender.NS, sender.Iface, packet.EtherTypeDot1Q, frame); err != nil {
			t.Fatal(err)
		}
		got, err := w.Frames(quiet)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || string(got[0].Data) != string(frame) || got[0].Packet.VLAN.ID != 42 {
			t.Fatalf("saw %v, want the tagged frame as sent (% x)", got, frame)
		}
	})

	t.Run("AwaitNothing", func(t *testing.T) {
		w := open(t, dut, witness.Options{EtherType: packet.EtherTypeIPv6})
		never := func(witness.Frame) bool { return false }
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, ok, err := w.Await(wctx, never); ok || err != nil {
			t.Errorf("Await past its deadline: %v, %v; want not found and no error", ok, err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := w.Await(cctx, never); !errors.Is(err, context.Canceled) {
			t.Errorf("Await on a cancelled context: %v, want context.Canceled", err)
		}
	})

	t.Run("SocketFilter", func(t *testing.T) {
		// A filter that keeps the first 20 bytes of every frame: the
		// frame's full length still shows in Len.
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type:         ebpf.SocketFilter,
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 20), asm.Return()},
			License:      "GPL",
		})
		if err != nil {
			t.Fatal(err)
		}
		w := open(t, dut, witness.Options{Filter: prog, Buffer: 1 << 20, EtherType: packet.EtherTypeIPv4, Direction: witness.In})
		prog.Close() // the socket holds its own reference
		res, err := traffic.Ping(ctx, sender.NS, dst, traffic.PingOptions{Count: 1})
		if err != nil || res.Received != 1 {
			t.Fatalf("ping: %v", err)
		}
		got, err := w.Frames(quiet)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0].Data) != 20 || got[0].Len != 98 {
			for _, f := range got {
				t.Logf("%d of %d bytes: %s", len(f.Data), f.Len, f)
			}
			t.Fatalf("saw %d frames, want the echo request cut to 20 of its 98 bytes", len(got))
		}
	})

	t.Run("DropsAreAnError", func(t *testing.T) {
		w := open(t, dut, witness.Options{Buffer: 1, Direction: witness.In}) // the kernel's minimum
		frame := testutils.Serialize(t,
			&layers.Ethernet{SrcMAC: sender.MAC, DstMAC: dut.MAC, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()},
			udpOver(src, dst),
			gopacket.Payload(make([]byte, 1000)),
		)
		for range 64 {
			if err := witness.Send(sender.NS, sender.Iface, packet.EtherTypeIPv4, frame); err != nil {
				t.Fatal(err)
			}
		}
		_, err := w.Frames(quiet)
		want := "the witness on " + dut.NS.Name + "/" + dut.Iface + " dropped "
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), " frames for want of buffer: its record is incomplete") {
			t.Errorf("Frames after an overflow: %v, want %q...", err, want)
		}
	})

	t.Run("SendOnCPU", func(t *testing.T) {
		cpus, err := witness.CPUs()
		if err != nil || len(cpus) == 0 {
			t.Fatalf("CPUs: %v, %v", cpus, err)
		}
		var before unix.CPUSet
		if err := unix.SchedGetaffinity(0, &before); err != nil {
			t.Fatal(err)
		}
		arrived := open(t, dut, witness.Options{EtherType: packet.EtherTypeIPv4, Direction: witness.In})
		var frames [][]byte
		for i, cpu := range cpus {
			frame, err := packet.UDPFrame{SrcMAC: sender.MAC, DstMAC: dut.MAC,
				Src: netip.AddrPortFrom(src, uint16(40000+i)), Dst: netip.AddrPortFrom(dst, 9)}.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if err := witness.SendOnCPU(sender.NS, sender.Iface, packet.EtherTypeIPv4, frame, cpu); err != nil {
				t.Fatalf("cpu %d: %v", cpu, err)
			}
			frames = append(frames, frame)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		for i, frame := range frames {
			if _, ok, err := arrived.Await(wctx, func(f witness.Frame) bool { return string(f.Data) == string(frame) }); err != nil || !ok {
				t.Errorf("the frame sent from cpu %d did not arrive (%v)", cpus[i], err)
			}
		}
		// The threads that sent went back to the Go scheduler with every
		// CPU: no thread of the process stays bound to one.
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			tid, _ := strconv.Atoi(task.Name())
			var set unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &set); err != nil {
				continue // the thread ended meanwhile
			}
			if set != before {
				t.Errorf("thread %d runs on %d cpus, the process on %d", tid, set.Count(), before.Count())
			}
		}
		err = witness.SendOnCPU(sender.NS, sender.Iface, packet.EtherTypeIPv4, frames[0], 4095)
		if want := "bind to cpu 4095: not among the cpus this process may use"; err == nil || err.Error() != want {
			t.Errorf("SendOnCPU on a cpu not ours: %v, want %q", err, want)
		}
	})

	t.Run("Faults", func(t *testing.T) {
		notFilter, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type: ebpf.XDP, Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}, License: "GPL",
		})
		if err != nil {
			t.Fatal(err)
		}
		defer notFilter.Close()
		before := openFDs(t)
		_, err = witness.Open(dut.NS, "veth9", witness.Options{})
		if want := "find veth9 in " + dut.NS.Name + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Open on a missing interface: %v, want %q...", err, want)
		}
		_, err = witness.Open(dut.NS, dut.Iface, witness.Options{Filter: notFilter})
		if want := "attach socket filter to the packet socket on " + dut.NS.Name + "/" + dut.Iface + " (SO_ATTACH_BPF): "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Open with an XDP program as filter: %v, want %q...", err, want)
		}
		err = witness.Send(sender.NS, sender.Iface, packet.EtherTypeIPv4, []byte{1, 2, 3})
		if want := "send frame on " + sender.NS.Name + "/" + sender.Iface + ": 3 bytes is shorter than an Ethernet header"; err == nil || err.Error() != want {
			t.Errorf("Send of 3 bytes: %v, want %q", err, want)
		}
		err = witness.Send(sender.NS, "veth9", packet.EtherTypeIPv4, make([]byte, 60))
		if want := "find veth9 in " + sender.NS.Name + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Send on a missing interface: %v, want %q...", err, want)
		}
		if after := openFDs(t); after != before {
			t.Errorf("%d file descriptors open after the faults, %d before: a socket leaked", after, before)
		}
	})
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// udpOver is a UDP header whose checksum covers its IPv4 pseudo-header.
func udpOver(src, dst netip.Addr) *layers.UDP {
	u := &layers.UDP{SrcPort: 1234, DstPort: 9}
	u.SetNetworkLayerForChecksum(&layers.IPv4{Version: 4, Protocol: layers.IPProtocolUDP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()})
	return u
}
