package redirect

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// xdpMD is struct xdp_md, the context BPF_PROG_TEST_RUN takes for XDP.
// data_end must equal the frame length; ingress_ifindex makes the kernel use
// that interface (looked up in the calling thread's namespace) as ingress,
// which bpf_fib_lookup needs.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

const (
	xdpAborted  = 0
	xdpDrop     = 1
	xdpPass     = 2
	xdpTX       = 3
	xdpRedirect = 4
)

// bench is a deployed redirect topology with a step's program loaded and
// its maps filled as up fills them, ready for test runs inside node1.
type bench struct {
	inst  string
	topo  *topology.Deployed
	node1 *namespace.NS
	coll  *ebpf.Collection
	index map[string]int // node1's ifindexes
}

// newBench is the base exercise's bench.
func newBench(tb testing.TB) *bench { return newStepBench(tb, "") }

func newStepBench(tb testing.TB, step string) *bench {
	tb.Helper()
	testutils.RequirePrivileged(tb)
	inst := testutils.Instance(tb)
	res, err := topology.Resolve(topology.Redirect(), inst, "redirect")
	if err != nil {
		tb.Fatal(err)
	}
	d, err := res.Deploy(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		d.Close()
		if err := res.Destroy(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	spec, err := programs[step]()
	if err != nil {
		tb.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { coll.Close() })
	b := &bench{inst: inst, topo: d, node1: d.MustNS("node1"), coll: coll, index: map[string]int{}}
	for _, iface := range reflectors {
		l, err := b.node1.Netlink().LinkByName(iface)
		if err != nil {
			tb.Fatal(err)
		}
		b.index[iface] = l.Attrs().Index
	}
	if err := fillDevmap(b.node1, b.devmap(), reflectors); err != nil {
		tb.Fatal(err)
	}
	if step == stepARP {
		if err := fillARPTable(b.node1, coll.Maps[mapARP], reflectors); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

func (b *bench) devmap() *ebpf.Map { return b.coll.Maps[mapRedirect] }

func (b *bench) mac(node, iface string) net.HardwareAddr { return topology.MAC(b.inst, node, iface) }

// run test-runs xdp_test on frame as if it arrived on node1/iface.
func (b *bench) run(tb testing.TB, iface string, frame []byte) (uint32, []byte) {
	tb.Helper()
	out := make([]byte, len(frame)+256)
	opts := &ebpf.RunOptions{
		Data:    frame,
		DataOut: out,
		Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(b.index[iface])},
	}
	var ret uint32
	err := b.node1.Do(func() error {
		var err error
		ret, err = b.coll.Programs[progName].Run(opts)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ret, opts.DataOut
}

func (b *bench) counts(tb testing.TB) grade.Counters[uint32] {
	tb.Helper()
	c, err := grade.ReadCounters[uint32](b.coll.Maps[mapResults])
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// echo builds an ICMP echo request frame from src to dst.
func echo(tb testing.TB, srcMAC, dstMAC net.HardwareAddr, src, dst string) []byte {
	return testutils.Serialize(tb,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, Id: 7,
			SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x1234, Seq: 1},
		gopacket.Payload(bytes.Repeat([]byte{0xab}, 56)))
}

func ipChecksumOK(hdr []byte) bool {
	var sum uint32
	for i := 0; i+1 < len(hdr); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(hdr[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum == 0xffff
}

// TestProgramReflects test-runs the program inside node1 on echo requests
// arriving from the host (on veth1) and from node2 (on veth2): each must be
// redirected back where it came from, addresses swapped, MACs from the
// lookup, checksums still valid, and counted as SUCCESS and redirected.
func TestProgramReflects(t *testing.T) {
	b := newBench(t)
	cases := []struct {
		name, iface    string
		peer, peerIf   string // who sent it
		src, dst       string
		wantSrc, wantD string
	}{
		{"from host on veth1", "veth1", "host", "veth0", "192.168.0.3", "192.168.1.5", "192.168.1.5", "192.168.0.3"},
		{"from node2 on veth2", "veth2", "node2", "veth3", "192.168.1.5", "192.168.0.3", "192.168.0.3", "192.168.1.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := echo(t, b.mac(c.peer, c.peerIf), b.mac("node1", c.iface), c.src, c.dst)
			before := b.counts(t)
			ret, out := b.run(t, c.iface, in)
			if ret != xdpRedirect {
				t.Fatalf("returned %d, want XDP_REDIRECT (4); fib_results moved by %v", ret, b.counts(t).Sub(before))
			}
			pkt := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
			eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			icmp := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if got, want := eth.DstMAC.String(), b.mac(c.peer, c.peerIf).String(); got != want {
				t.Errorf("dst MAC %s, want the sender's %s", got, want)
			}
			if got, want := eth.SrcMAC.String(), b.mac("node1", c.iface).String(); got != want {
				t.Errorf("src MAC %s, want node1/%s's %s", got, c.iface, want)
			}
			if ip.SrcIP.String() != c.wantSrc || ip.DstIP.String() != c.wantD {
				t.Errorf("IP %s > %s, want %s > %s", ip.SrcIP, ip.DstIP, c.wantSrc, c.wantD)
			}
			if !ipChecksumOK(out[14 : 14+20]) {
				t.Error("IP header checksum no longer valid")
			}
			if icmp.Id != 0x1234 || icmp.Seq != 1 || !bytes.Equal(out[14+20:], in[14+20:]) {
				t.Error("ICMP message changed; only addresses may change")
			}
			d := b.counts(t).Sub(before)
			if d[fibSuccess] != 1 || d[actionRedirect] != 1 || len(d) != 2 {
				t.Errorf("fib_results moved by %v, want SUCCESS 1 and redirected 1", d)
			}
		})
	}
}

// TestProgramFailures provokes every failure the hints name and checks the
// verdict and the counter slot for each.
func TestProgramFailures(t *testing.T) {
	b := newBench(t)
	host, node1 := b.mac("host", "veth0"), b.mac("node1", "veth1")
	request := echo(t, host, node1, "192.168.0.3", "192.168.1.5")

	expect := func(t *testing.T, frame []byte, want uint32, slot uint32) {
		t.Helper()
		before := b.counts(t)
		ret, _ := b.run(t, "veth1", frame)
		if ret != want {
			t.Errorf("returned %d, want %d", ret, want)
		}
		d := b.counts(t).Sub(before)
		if d[slot] != 1 {
			t.Errorf("fib_results moved by %v, want %s +1", d, ResultName(slot))
		}
	}

	t.Run("FWD_DISABLED drops", func(t *testing.T) {
		if err := b.node1.Sysctl("net.ipv4.ip_forward", "0"); err != nil {
			t.Fatal(err)
		}
		defer b.node1.Sysctl("net.ipv4.ip_forward", "1")
		expect(t, request, xdpDrop, fibFwdDisabled)
	})
	t.Run("NOT_FWDED drops", func(t *testing.T) {
		// node1 has no route back to 10.9.9.9.
		expect(t, echo(t, host, node1, "10.9.9.9", "192.168.1.5"), xdpDrop, fibNotFwded)
	})
	t.Run("missing devmap entry aborts", func(t *testing.T) {
		if err := b.devmap().Delete(uint32(b.index["veth1"])); err != nil {
			t.Fatal(err)
		}
		defer fillDevmap(b.node1, b.devmap(), reflectors)
		expect(t, request, xdpAborted, actionAborted)
	})
	t.Run("NO_NEIGH passes", func(t *testing.T) {
		h := b.node1.Netlink()
		l, err := h.LinkByName("veth1")
		if err != nil {
			t.Fatal(err)
		}
		err = h.NeighDel(&netlink.Neigh{LinkIndex: l.Attrs().Index, Family: unix.AF_INET, IP: net.ParseIP("192.168.0.3")})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, request, xdpPass, fibNoNeigh)
	})
}

// TestProgramIgnoresOtherTraffic: anything but IPv4 ICMP passes untouched
// and uncounted, including a frame whose IP header is cut off.
func TestProgramIgnoresOtherTraffic(t *testing.T) {
	b := newBench(t)
	src, dst := b.mac("host", "veth0"), b.mac("node1", "veth1")
	ip := func(p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TTL: 64, Protocol: p,
			SrcIP: net.IP{192, 168, 0, 3}, DstIP: net.IP{192, 168, 1, 5}}
	}
	udpIP := ip(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 5000, DstPort: 9}
	udp.SetNetworkLayerForChecksum(udpIP)
	icmp := echo(t, src, dst, "192.168.0.3", "192.168.1.5")
	frames := map[string][]byte{
		"udp": testutils.Serialize(t, &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4},
			udpIP, udp, gopacket.Payload(make([]byte, 18))),
		"arp": testutils.Serialize(t, &layers.Ethernet{SrcMAC: src, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
				HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
				SourceHwAddress: src, SourceProtAddress: []byte{192, 168, 0, 3},
				DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 168, 0, 2}}),
		"ipv6": testutils.Serialize(t, &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv6},
			&layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolNoNextHeader,
				SrcIP: net.ParseIP("fd00::3"), DstIP: net.ParseIP("fd00::2")}),
		"truncated ip header": icmp[:14+10],
	}
	for name, f := range frames {
		t.Run(name, func(t *testing.T) {
			before := b.counts(t)
			ret, out := b.run(t, "veth1", f)
			if ret != xdpPass {
				t.Errorf("returned %d, want XDP_PASS (2)", ret)
			}
			if !bytes.Equal(out, f) {
				t.Error("frame was modified")
			}
			if d := b.counts(t).Sub(before); len(d) != 0 {
				t.Errorf("fib_results moved by %v, want nothing", d)
			}
		})
	}
}

// BenchmarkProgram reports the cost of reflecting one echo request: parse,
// fib lookup, rewrite and redirect, test-run inside node1.
func BenchmarkProgram(b *testing.B) {
	bn := newBench(b)
	frame := echo(b, bn.mac("host", "veth0"), bn.mac("node1", "veth1"), "192.168.0.3", "192.168.1.5")
	const repeat = 100_000
	ctx := xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(bn.index["veth1"])}
	var total time.Duration
	var runs int
	for b.Loop() {
		err := bn.node1.Do(func() error {
			start := time.Now()
			ret, err := bn.coll.Programs[progName].Run(&ebpf.RunOptions{Data: frame, Context: ctx, Repeat: repeat})
			total += time.Since(start)
			if err == nil && ret != xdpRedirect {
				err = fmt.Errorf("returned %d, want XDP_REDIRECT", ret)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		runs += repeat
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(runs), "ns/packet")
}

// TestStepPrograms test-runs each step's program inside node1 on what its
// step adds: the udp step reflects a datagram with its ports swapped and its
// checksum still right, passes TCP, and passes a datagram untouched on
// NO_NEIGH; the arp step answers a request for node1's address with a
// complete reply, and passes a request for another address and a reply.
func TestStepPrograms(t *testing.T) {
	udpFrame := func(b *bench, src, dst string, proto layers.IPProtocol) []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
		eth := &layers.Ethernet{SrcMAC: b.mac("host", "veth0"), DstMAC: b.mac("node1", "veth1"), EthernetType: layers.EthernetTypeIPv4}
		if proto == layers.IPProtocolTCP {
			tcp := &layers.TCP{SrcPort: 43910, DstPort: 8888, SYN: true, Window: 64240}
			tcp.SetNetworkLayerForChecksum(ip)
			return testutils.Serialize(t, eth, ip, tcp)
		}
		udp := &layers.UDP{SrcPort: 5000, DstPort: 9}
		udp.SetNetworkLayerForChecksum(ip)
		return testutils.Serialize(t, eth, ip, udp, gopacket.Payload([]byte("reflect me, ports swapped")))
	}
	t.Run("udp", func(t *testing.T) {
		b := newStepBench(t, stepUDP)
		in := udpFrame(b, "192.168.0.3", "192.168.1.5", layers.IPProtocolUDP)
		before := b.counts(t)
		ret, out := b.run(t, "veth1", in)
		if ret != xdpRedirect {
			t.Fatalf("udp: returned %d, want XDP_REDIRECT; fib_results moved by %v", ret, b.counts(t).Sub(before))
		}
		f := witness.Frame{Data: out[:len(in)], Packet: packet.Decode(out[:len(in)])}
		u, ip := &f.Packet.UDP, &f.Packet.IPv4
		if u.SrcPort != 9 || u.DstPort != 5000 || ip.Src.String() != "192.168.1.5" || ip.Dst.String() != "192.168.0.3" {
			t.Errorf("udp reflected as %s, want 192.168.1.5.9 > 192.168.0.3.5000", f.Packet.Summary())
		}
		if !udpChecksumValid(f) || !ipChecksumValid(f.Data) {
			t.Error("a checksum is no longer valid after the swap")
		}
		if ret, out := b.run(t, "veth1", udpFrame(b, "192.168.0.3", "192.168.1.5", layers.IPProtocolTCP)); ret != xdpPass || !bytes.Equal(out[:14], udpFrame(b, "192.168.0.3", "192.168.1.5", layers.IPProtocolTCP)[:14]) {
			t.Errorf("tcp: returned %d, want XDP_PASS untouched", ret)
		}
		h := b.node1.Netlink()
		l, err := h.LinkByName("veth1")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.NeighDel(&netlink.Neigh{LinkIndex: l.Attrs().Index, Family: unix.AF_INET, IP: net.ParseIP("192.168.0.3")}); err != nil {
			t.Fatal(err)
		}
		ret, out = b.run(t, "veth1", in)
		if ret != xdpPass || !bytes.Equal(out[:len(in)], in) {
			t.Errorf("udp on NO_NEIGH: returned %d, want XDP_PASS with the datagram untouched", ret)
		}
	})
	t.Run("arp", func(t *testing.T) {
		b := newStepBench(t, stepARP)
		host, node1 := b.mac("host", "veth0"), b.mac("node1", "veth1")
		arp := func(op uint16, dst net.HardwareAddr, target string) []byte {
			f, err := packet.ARPFrame{SrcMAC: host, DstMAC: dst, Operation: op, SenderHW: host,
				SenderIP: netip.MustParseAddr("192.168.0.3"), TargetIP: netip.MustParseAddr(target)}.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		before := b.counts(t)
		ret, out := b.run(t, "veth1", arp(packet.ARPRequest, packet.Broadcast, "192.168.0.2"))
		if ret != xdpTX {
			t.Fatalf("request for node1's address: returned %d, want XDP_TX", ret)
		}
		f := witness.Frame{Data: out[:60], Packet: packet.Decode(out[:60])}
		want := fmt.Sprintf("Ethernet %s > %s, op 2, sender %s 192.168.0.2, target %s 192.168.0.3", node1, host, node1, host)
		if got := arpText(f); got != want {
			t.Errorf("reply\n%s, want\n%s", got, want)
		}
		if d := b.counts(t).Sub(before); d[arpAnswered] != 1 || len(d) != 1 {
			t.Errorf("fib_results moved by %v, want ARP answered 1", d)
		}
		for name, in := range map[string][]byte{
			"request for another address": arp(packet.ARPRequest, packet.Broadcast, "192.168.0.99"),
			"reply":                       arp(packet.ARPReply, node1, "192.168.0.2"),
		} {
			before := b.counts(t)
			ret, out := b.run(t, "veth1", in)
			if ret != xdpPass || !bytes.Equal(out[:len(in)], in) {
				t.Errorf("%s: returned %d, want XDP_PASS untouched", name, ret)
			}
			if d := b.counts(t).Sub(before); d[arpAnswered] != 0 {
				t.Errorf("%s: fib_results moved by %v", name, d)
			}
		}
		if ret, _ := b.run(t, "veth1", echo(t, host, node1, "192.168.0.3", "192.168.1.5")); ret != xdpRedirect {
			t.Errorf("echo request: returned %d, want XDP_REDIRECT, as in the base exercise", ret)
		}
	})
}
