package packet

import (
	"fmt"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The frames of the differential tests are built with gopacket, the
// independent implementation Decode is compared with.

type frame struct {
	name string
	data []byte
}

var (
	macA     = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macB     = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	macBcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ipA      = net.IP{192, 168, 0, 3}
	ipB      = net.IP{192, 168, 0, 2}
	ip6A     = net.ParseIP("fd00::3")
	ip6B     = net.ParseIP("fd00::2")
)

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatalf("serialize %v: %v", ls, err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ether(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Flags: layers.IPv4DontFragment, Protocol: proto, SrcIP: ipA, DstIP: ipB}
}

func ip6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: ip6A, DstIP: ip6B, TrafficClass: 0x28, FlowLabel: 0x12345}
}

func payload(n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

type checksummed interface {
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}

func withNet[T checksummed](l T, n gopacket.NetworkLayer) T {
	l.SetNetworkLayerForChecksum(n)
	return l
}

// corpus is what the labs send and capture (pings, UDP, TCP handshakes,
// ARP), what they must tell apart (IPv6, VLAN tags, fragments, options,
// other protocols), and malformed headers; truncations of all of them are
// added by the tests.
func corpus(tb testing.TB) []frame {
	tb.Helper()
	var fs []frame
	add := func(name string, data []byte) { fs = append(fs, frame{name, data}) }

	for _, tc := range []struct {
		typ, code uint8
		n         int
	}{{8, 0, 56}, {0, 0, 56}, {3, 3, 28}, {3, 1, 28}, {3, 99, 28}, {11, 0, 28}, {11, 7, 0}, {5, 2, 28}, {4, 0, 0}, {4, 1, 0}, {13, 0, 12}, {42, 3, 0}} {
		ip := ip4(layers.IPProtocolICMPv4)
		add(fmt.Sprintf("icmp %d/%d", tc.typ, tc.code), serialize(tb, ether(layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(tc.typ, tc.code), Id: 7, Seq: 1}, payload(tc.n)))
	}
	for _, tc := range []struct {
		name  string
		flags func(*layers.TCP)
		n     int
		opts  []layers.TCPOption
	}{
		{"syn", func(t *layers.TCP) { t.SYN = true }, 0, []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}, {OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}}}},
		{"synack", func(t *layers.TCP) { t.SYN, t.ACK = true, true }, 0, nil},
		{"psh ack data", func(t *layers.TCP) { t.PSH, t.ACK = true, true }, 15, nil},
		{"fin ack", func(t *layers.TCP) { t.FIN, t.ACK = true, true }, 0, nil},
		{"rst", func(t *layers.TCP) { t.RST = true }, 0, nil},
		{"all flags", func(t *layers.TCP) {
			t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR, t.NS = true, true, true, true, true, true, true, true, true
		}, 3, nil},
		{"no flags", func(*layers.TCP) {}, 1, nil},
	} {
		ip := ip4(layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: 43910, DstPort: 8888, Seq: 0xdeadbeef, Ack: 42, Window: 64240, Urgent: 3, Options: tc.opts}
		tc.flags(tcp)
		add("tcp "+tc.name, serialize(tb, ether(layers.EthernetTypeIPv4), ip, withNet(tcp, ip), payload(tc.n)))
		ip6 := ip6(layers.IPProtocolTCP)
		add("ip6 tcp "+tc.name, serialize(tb, ether(layers.EthernetTypeIPv6), ip6, withNet(tcp, ip6), payload(tc.n)))
	}
	for _, n := range []int{0, 1, 18, 32, 1472} {
		ip := ip4(layers.IPProtocolUDP)
		add(fmt.Sprintf("udp %d", n), serialize(tb, ether(layers.EthernetTypeIPv4), ip, withNet(&layers.UDP{SrcPort: 40000, DstPort: 9}, ip), payload(n)))
	}
	{
		ip := ip6(layers.IPProtocolUDP)
		add("ip6 udp", serialize(tb, ether(layers.EthernetTypeIPv6), ip, withNet(&layers.UDP{SrcPort: 40000, DstPort: 80}, ip), payload(16)))
		ip = ip6(layers.IPProtocolICMPv6)
		add("ip6 icmp6 echo", serialize(tb, ether(layers.EthernetTypeIPv6), ip,
			withNet(&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}, ip), payload(8)))
		ip = ip6(layers.IPProtocolNoNextHeader)
		add("ip6 no next header", serialize(tb, ether(layers.EthernetTypeIPv6), ip, payload(4)))
	}
	arp := func(op uint16, hw, proto []byte) *layers.ARP {
		return &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: uint8(len(hw)), ProtAddressSize: uint8(len(proto)), Operation: op,
			SourceHwAddress: hw, SourceProtAddress: proto, DstHwAddress: make([]byte, len(hw)), DstProtAddress: append([]byte(nil), ipB[:len(proto)]...)}
	}
	add("arp request", serialize(tb, &layers.Ethernet{SrcMAC: macA, DstMAC: macBcast, EthernetType: layers.EthernetTypeARP}, arp(layers.ARPRequest, macA, ipA)))
	add("arp reply", serialize(tb, ether(layers.EthernetTypeARP), arp(layers.ARPReply, macA, ipA)))
	add("arp op 9", serialize(tb, ether(layers.EthernetTypeARP), arp(9, macA, ipA)))
	add("arp 2-byte protocol addresses", serialize(tb, ether(layers.EthernetTypeARP), arp(layers.ARPRequest, macA, ipA[:2])))
	{
		ip := ip4(layers.IPProtocolUDP)
		udp := withNet(&layers.UDP{SrcPort: 40000, DstPort: 9}, ip)
		add("vlan udp", serialize(tb, ether(layers.EthernetTypeDot1Q), &layers.Dot1Q{Priority: 5, DropEligible: true, VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, ip, udp, payload(12)))
		add("qinq udp", serialize(tb, ether(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, ip, udp, payload(12)))
		add("vlan arp", serialize(tb, ether(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 3, Type: layers.EthernetTypeARP}, arp(layers.ARPRequest, macA, ipA)))
		add("vlan ip6", serialize(tb, ether(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 3, Type: layers.EthernetTypeIPv6}, ip6(layers.IPProtocolNoNextHeader)))
	}
	for _, off := range []uint16{0, 185} {
		ip := ip4(layers.IPProtocolUDP)
		ip.Flags, ip.FragOffset = layers.IPv4MoreFragments, off
		add(fmt.Sprintf("udp fragment %d", off), serialize(tb, ether(layers.EthernetTypeIPv4), ip, payload(16)))
	}
	{
		ip := ip4(layers.IPProtocolUDP)
		ip.FragOffset = 185
		add("udp last fragment", serialize(tb, ether(layers.EthernetTypeIPv4), ip, payload(16)))
	}
	{
		ip := ip4(layers.IPProtocolTCP)
		ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}, {OptionType: 0}}
		add("tcp ip options", serialize(tb, ether(layers.EthernetTypeIPv4), ip, withNet(&layers.TCP{SrcPort: 1, DstPort: 2, SYN: true}, ip)))
	}
	for _, p := range []layers.IPProtocol{layers.IPProtocolIGMP, layers.IPProtocolSCTP, layers.IPProtocolESP, 200, 253} {
		add(fmt.Sprintf("ip proto %d", p), serialize(tb, ether(layers.EthernetTypeIPv4), ip4(p), payload(8)))
	}
	for _, t := range []layers.EthernetType{0x88cc, 0x9000, 0x1234, 0x0800 - 1, 0x0600} {
		add(fmt.Sprintf("ethertype %#04x", uint16(t)), serialize(tb, ether(t), payload(46)))
	}
	add("802.3 length", append(serialize(tb, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeLLC},
		&layers.LLC{DSAP: 0x42, SSAP: 0x42, Control: 3}), payload(20)...))

	// Hand-made: header fields that contradict each other.
	var udp []byte // 60 bytes: IPv4 at 14, UDP at 34
	for _, f := range fs {
		if f.name == "udp 18" {
			udp = f.data
		}
	}
	mut := func(name string, edit func(b []byte)) {
		b := append([]byte(nil), udp...)
		edit(b)
		add(name, b)
	}
	mut("ip total length 0", func(b []byte) { b[16], b[17] = 0, 0 })
	mut("ip total length 19", func(b []byte) { b[16], b[17] = 0, 19 })
	mut("ip total length short", func(b []byte) { b[16], b[17] = 0, 30 })
	mut("ip total length long", func(b []byte) { b[16], b[17] = 0x05, 0xdc })
	mut("ihl 0", func(b []byte) { b[14] = 0x40 })
	mut("ihl 15", func(b []byte) { b[14] = 0x4f })
	mut("ihl 6 bad option", func(b []byte) { b[14] = 0x46; b[34], b[35] = 9, 2 })
	mut("ihl 6 option too long", func(b []byte) { b[14] = 0x46; b[34], b[35] = 9, 9 })
	mut("ihl 6 end of options", func(b []byte) { b[14] = 0x46; b[34] = 0 })
	mut("ip version 6", func(b []byte) { b[14] = 0x65 })
	mut("udp length 0", func(b []byte) { b[38], b[39] = 0, 0 })
	mut("udp length 5", func(b []byte) { b[38], b[39] = 0, 5 })
	mut("udp length 200", func(b []byte) { b[38], b[39] = 0, 200 })
	mut("udp as tcp", func(b []byte) { b[23] = 6 })
	mut("udp as icmp", func(b []byte) { b[23] = 1 })
	mut("tcp data offset 2", func(b []byte) { b[23] = 6; b[46] = 0x20 })
	mut("tcp data offset 15", func(b []byte) { b[23] = 6; b[46] = 0xf0 })
	mut("arp hw size 200", func(b []byte) { b[12], b[13] = 0x08, 0x06; b[18], b[19] = 200, 4 })
	mut("arp hw size 124", func(b []byte) { b[12], b[13] = 0x08, 0x06; b[18], b[19] = 124, 4 })
	mut("ip6 payload length 0", func(b []byte) { b[12], b[13] = 0x86, 0xdd; b[18], b[19] = 0, 0; b[20] = 17 })
	add("empty", nil)
	add("one byte", []byte{0xff})
	return fs
}

// truncations are every prefix of every frame of fs, from the empty frame
// to the frame less one byte.
func truncations(fs []frame) []frame {
	var out []frame
	for _, f := range fs {
		for n := 0; n < len(f.data) && n < 200; n++ {
			out = append(out, frame{fmt.Sprintf("%s cut to %d", f.name, n), f.data[:n:n]})
		}
	}
	return out
}
