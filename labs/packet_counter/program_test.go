package packetcounter

import (
	"context"
	"errors"
	"maps"
	"net"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/grade"
)

var (
	srcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	dstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

func ipv4Frame(t testing.TB, proto layers.IPProtocol, l4 ...gopacket.SerializableLayer) []byte {
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto,
		SrcIP: net.IP{192, 168, 0, 3}, DstIP: net.IP{192, 168, 0, 2}}
	if tcp, ok := firstTCP(l4); ok {
		tcp.SetNetworkLayerForChecksum(ip)
	}
	if udp, ok := firstUDP(l4); ok {
		udp.SetNetworkLayerForChecksum(ip)
	}
	return testutils.Serialize(t, append([]gopacket.SerializableLayer{eth, ip}, l4...)...)
}

func firstTCP(ls []gopacket.SerializableLayer) (*layers.TCP, bool) {
	for _, l := range ls {
		if t, ok := l.(*layers.TCP); ok {
			return t, true
		}
	}
	return nil, false
}

func firstUDP(ls []gopacket.SerializableLayer) (*layers.UDP, bool) {
	for _, l := range ls {
		if u, ok := l.(*layers.UDP); ok {
			return u, true
		}
	}
	return nil, false
}

func loadForTest(t testing.TB) *packetCounterObjects {
	t.Helper()
	var objs packetCounterObjects
	if err := loadPacketCounterObjects(&objs, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objs.Close() })
	return &objs
}

// frames are the crafted frames the program tests feed every step's
// program.
type frames struct{ icmp, tcp, udp, ipv6, arp, truncatedIP []byte }

func craft(t testing.TB) frames {
	payload := gopacket.Payload(make([]byte, 56))
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6,
		SrcIP: net.ParseIP("fd00::3"), DstIP: net.ParseIP("fd00::2")}
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	icmp6.SetNetworkLayerForChecksum(ip6)
	var f frames
	f.ipv6 = testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv6},
		ip6, icmp6, payload)
	f.arp = testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: srcMAC, SourceProtAddress: []byte{192, 168, 0, 3},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 168, 0, 2}})
	f.icmp = ipv4Frame(t, layers.IPProtocolICMPv4,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1}, payload)
	f.tcp = ipv4Frame(t, layers.IPProtocolTCP, &layers.TCP{SrcPort: 43910, DstPort: 8888, SYN: true, Window: 64240})
	f.udp = ipv4Frame(t, layers.IPProtocolUDP, &layers.UDP{SrcPort: 5000, DstPort: 9}, payload)
	// An IPv4 EtherType whose IP header is cut off: must not be read.
	f.truncatedIP = f.icmp[:14+10]
	return f
}

// programCase is one frame fed to a program: the action it must return and
// the key it must count once (0: nothing may count).
type programCase struct {
	name  string
	frame []byte
	ret   uint32
	key   uint32
}

// runCases runs each case on prog and checks its action and what it made
// the map count: one under the case's key, nothing anywhere else.
func runCases(t *testing.T, prog *ebpf.Program, m *ebpf.Map, cases []programCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ret uint32
			d, runErr, err := grade.Measure[uint32](context.Background(), m, func() (err error) {
				ret, err = prog.Run(&ebpf.RunOptions{Data: c.frame})
				return err
			})
			if err = errors.Join(runErr, err); err != nil {
				t.Fatal(err)
			}
			if ret != c.ret {
				t.Errorf("returned %d, want %d", ret, c.ret)
			}
			want := grade.Counters[uint32]{}
			if c.key != 0 {
				want[c.key] = 1
			}
			if !maps.Equal(d, want) {
				t.Errorf("counted %s, want %s", d.Format(nil), want.Format(nil))
			}
		})
	}
}

// probeCases are the check's probes: each must pass, uncounted.
func probeCases(t *testing.T, ipv6 bool) []programCase {
	sender, dut := hintPlaces()
	ps, err := probes(sender, dut, ipv6)
	if err != nil {
		t.Fatal(err)
	}
	var out []programCase
	for _, p := range ps {
		out = append(out, programCase{"probe: " + p.what, p.frame, xdpPass, 0})
	}
	return out
}

// XDP actions.
const (
	xdpDrop = 1
	xdpPass = 2
)

// TestProgram runs the program on crafted frames with BPF_PROG_TEST_RUN: every
// frame must pass, and only IPv4 frames may count, under their protocol.
func TestProgram(t *testing.T) {
	testutils.RequirePrivileged(t)
	objs := loadForTest(t)
	f := craft(t)
	runCases(t, objs.PacketCount, objs.Protocols, append([]programCase{
		{"icmp", f.icmp, xdpPass, protoICMP},
		{"tcp", f.tcp, xdpPass, protoTCP},
		{"udp", f.udp, xdpPass, protoUDP},
		{"ipv6", f.ipv6, xdpPass, 0},
		{"arp", f.arp, xdpPass, 0},
		{"truncated ip header", f.truncatedIP, xdpPass, 0},
	}, probeCases(t, false)...))
}

// TestStepPrograms: each step's program on the same frames. drop_icmp
// counts ICMP and drops it; ipv6 also counts IPv6 under its next header.
func TestStepPrograms(t *testing.T) {
	testutils.RequirePrivileged(t)
	f := craft(t)
	t.Run("drop_icmp", func(t *testing.T) {
		var objs packetCounterDropICMPObjects
		if err := loadPacketCounterDropICMPObjects(&objs, nil); err != nil {
			t.Fatal(err)
		}
		defer objs.Close()
		runCases(t, objs.PacketCount, objs.Protocols, append([]programCase{
			{"icmp", f.icmp, xdpDrop, protoICMP},
			{"tcp", f.tcp, xdpPass, protoTCP},
			{"udp", f.udp, xdpPass, protoUDP},
			{"ipv6", f.ipv6, xdpPass, 0},
			{"truncated ip header", f.truncatedIP, xdpPass, 0},
		}, probeCases(t, false)...))
	})
	t.Run("ipv6", func(t *testing.T) {
		var objs packetCounterIPv6Objects
		if err := loadPacketCounterIPv6Objects(&objs, nil); err != nil {
			t.Fatal(err)
		}
		defer objs.Close()
		runCases(t, objs.PacketCount, objs.Protocols, append([]programCase{
			{"icmp", f.icmp, xdpPass, protoICMP},
			{"ipv6 icmpv6", f.ipv6, xdpPass, protoICMPv6},
			{"ipv6 truncated", f.ipv6[:14+20], xdpPass, 0},
			{"arp", f.arp, xdpPass, 0},
			{"truncated ip header", f.truncatedIP, xdpPass, 0},
		}, probeCases(t, true)...))
	})
}

// TestProgramShortFrame feeds a frame shorter than an Ethernet header. The
// kernel refuses to test-run XDP on less than ETH_HLEN bytes, so this shows
// the kernel's own guard; the program's bounds check is covered by the
// truncated-IP case above.
func TestProgramShortFrame(t *testing.T) {
	testutils.RequirePrivileged(t)
	objs := loadForTest(t)
	ret, err := objs.PacketCount.Run(&ebpf.RunOptions{Data: make([]byte, 10)})
	if err == nil && ret != 2 {
		t.Fatalf("10-byte frame returned %d, want XDP_PASS or a refusal", ret)
	}
}

// BenchmarkProgram reports the program's cost per packet.
func BenchmarkProgram(b *testing.B) {
	testutils.RequirePrivileged(b)
	objs := loadForTest(b)
	f := ipv4Frame(b, layers.IPProtocolUDP, &layers.UDP{SrcPort: 5000, DstPort: 9}, gopacket.Payload(make([]byte, 18)))
	testutils.BenchmarkPackets(b, objs.PacketCount, f)
}
