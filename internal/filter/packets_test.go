package filter

import (
	"fmt"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

type frame struct {
	name string
	data []byte
}

var (
	macHost  = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macNode1 = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	macBcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	macMcast = net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}
	ipHost   = net.IPv4(192, 168, 0, 3).To4()
	ipNode1  = net.IPv4(192, 168, 0, 2).To4()
	ipOther  = net.IPv4(10, 0, 0, 1).To4()
	ip6Host  = net.ParseIP("fd00::3")
	ip6Node1 = net.ParseIP("fd00::2")
)

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatalf("serialize %v: %v", ls, err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(src, dst net.HardwareAddr, t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: t}
}

func ipv4(src, dst net.IP, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Flags: layers.IPv4DontFragment, Protocol: proto, SrcIP: src, DstIP: dst}
}

func ipv6(src, dst net.IP, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: src, DstIP: dst}
}

func payload(n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

// frames is the packet corpus of the differential tests: what the labs'
// traffic looks like, plus the frames that make filters misbehave (IP
// options, fragments, VLAN tags, truncated headers, frames shorter than an
// Ethernet header, frames near the largest the test run takes).
func frames(tb testing.TB) []frame {
	tb.Helper()
	var fs []frame
	add := func(name string, data []byte) { fs = append(fs, frame{name, data}) }

	tcp := func(src, dst layers.TCPPort, syn, ack bool) *layers.TCP {
		return &layers.TCP{SrcPort: src, DstPort: dst, Seq: 1000, Ack: 1, SYN: syn, ACK: ack, Window: 64240, DataOffset: 5}
	}
	udp := func(src, dst layers.UDPPort) *layers.UDP { return &layers.UDP{SrcPort: src, DstPort: dst} }
	withNet := func(l interface {
		SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
	}, n gopacket.NetworkLayer) {
		if err := l.SetNetworkLayerForChecksum(n); err != nil {
			tb.Fatal(err)
		}
	}

	// ICMP echo request and reply, as ping sends them (56-byte payload).
	for _, typ := range []uint8{layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply} {
		ip := ipv4(ipHost, ipNode1, layers.IPProtocolICMPv4)
		add(fmt.Sprintf("icmp type %d", typ), serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 7, Seq: 1}, payload(56)))
	}

	// TCP: SYN to the xdp_dump port, SYN-ACK from port 80, ACK with data to 80.
	for _, c := range []struct {
		name     string
		src, dst net.IP
		sp, dp   layers.TCPPort
		syn, ack bool
		n        int
	}{
		{"tcp syn 8888", ipHost, ipNode1, 43910, 8888, true, false, 0},
		{"tcp synack 80", ipNode1, ipHost, 80, 50000, true, true, 0},
		{"tcp data 80", ipHost, ipNode1, 50000, 80, false, true, 100},
		{"tcp other net", ipOther, ipNode1, 1234, 22, false, true, 10},
	} {
		ip := ipv4(c.src, c.dst, layers.IPProtocolTCP)
		l4 := tcp(c.sp, c.dp, c.syn, c.ack)
		withNet(l4, ip)
		add(c.name, serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv4), ip, l4, payload(c.n)))
	}

	// UDP to the ports the filters name.
	for _, c := range []struct {
		name   string
		sp, dp layers.UDPPort
		n      int
	}{
		{"udp 9", 40000, 9, 32},
		{"udp 53", 40001, 53, 40},
		{"udp 1500", 40002, 1500, 8},
		{"udp src 8888", 8888, 2000, 0},
		{"udp 80", 40003, 80, 200},
	} {
		ip := ipv4(ipHost, ipNode1, layers.IPProtocolUDP)
		l4 := udp(c.sp, c.dp)
		withNet(l4, ip)
		add(c.name, serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv4), ip, l4, payload(c.n)))
	}

	// TTL 200 (ip[8] > 63 either way; arithmetic filters see other values).
	{
		ip := ipv4(ipNode1, ipHost, layers.IPProtocolUDP)
		ip.TTL = 200
		l4 := udp(5353, 5000)
		withNet(l4, ip)
		add("udp ttl 200", serialize(tb, eth(macNode1, macHost, layers.EthernetTypeIPv4), ip, l4, payload(20)))
	}

	// IP options (IHL 6 and 8): "4*([14]&0xf)" decides where L4 starts.
	for _, words := range []int{1, 3} {
		ip := ipv4(ipHost, ipNode1, layers.IPProtocolTCP)
		for w := 0; w < words; w++ {
			ip.Options = append(ip.Options, layers.IPv4Option{OptionType: 1}, layers.IPv4Option{OptionType: 1},
				layers.IPv4Option{OptionType: 1}, layers.IPv4Option{OptionType: 1})
		}
		l4 := tcp(43000, 80, true, false)
		withNet(l4, ip)
		add(fmt.Sprintf("tcp syn 80 ihl %d", 5+words), serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv4), ip, l4))
	}

	// Fragments: the first (MF, offset 0) and a later one (offset 185*8),
	// whose "UDP header" bytes are payload and must not match port filters.
	for _, off := range []uint16{0, 185} {
		ip := ipv4(ipHost, ipNode1, layers.IPProtocolUDP)
		ip.Flags = layers.IPv4MoreFragments
		ip.FragOffset = off
		add(fmt.Sprintf("udp fragment offset %d", off), serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv4), ip,
			gopacket.Payload{0x9c, 0x40, 0x00, 0x09, 0x00, 0x40, 0, 0, 1, 2, 3, 4}))
	}

	// IPv6: UDP to 80, TCP SYN to 80, ICMPv6 echo.
	{
		ip := ipv6(ip6Host, ip6Node1, layers.IPProtocolUDP)
		l4 := udp(40000, 80)
		withNet(l4, ip)
		add("ip6 udp 80", serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv6), ip, l4, payload(16)))
	}
	{
		ip := ipv6(ip6Host, ip6Node1, layers.IPProtocolTCP)
		l4 := tcp(40000, 80, true, false)
		withNet(l4, ip)
		add("ip6 tcp syn 80", serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv6), ip, l4))
	}
	{
		ip := ipv6(ip6Host, ip6Node1, layers.IPProtocolICMPv6)
		l4 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
		withNet(l4, ip)
		add("ip6 icmp6 echo", serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv6), ip, l4, payload(8)))
	}

	// ARP request, broadcast.
	add("arp who-has", serialize(tb, eth(macHost, macBcast, layers.EthernetTypeARP), &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: macHost, SourceProtAddress: ipHost,
		DstHwAddress: make([]byte, 6), DstProtAddress: ipNode1,
	}))

	// VLAN 100 tagged UDP to 9.
	{
		ip := ipv4(ipHost, ipNode1, layers.IPProtocolUDP)
		l4 := udp(40000, 9)
		withNet(l4, ip)
		add("vlan 100 udp 9", serialize(tb, eth(macHost, macNode1, layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, ip, l4, payload(12)))
	}

	// Broadcast and multicast IPv4 UDP.
	{
		ip := ipv4(ipHost, net.IPv4bcast.To4(), layers.IPProtocolUDP)
		l4 := udp(68, 67)
		withNet(l4, ip)
		add("udp broadcast", serialize(tb, eth(macHost, macBcast, layers.EthernetTypeIPv4), ip, l4, payload(30)))
	}
	{
		ip := ipv4(ipHost, net.IPv4(224, 0, 0, 251).To4(), layers.IPProtocolUDP)
		l4 := udp(5353, 5353)
		withNet(l4, ip)
		add("udp multicast", serialize(tb, eth(macHost, macMcast, layers.EthernetTypeIPv4), ip, l4, payload(30)))
	}

	// Large frames: a full 1500-byte MTU frame and one near the test run's
	// one-page limit.
	for _, n := range []int{1472, maxKernelFrame - 42} {
		ip := ipv4(ipHost, ipNode1, layers.IPProtocolUDP)
		l4 := udp(40000, 1000)
		withNet(l4, ip)
		add(fmt.Sprintf("udp large %d", n), serialize(tb, eth(macHost, macNode1, layers.EthernetTypeIPv4), ip, l4, payload(n)))
	}

	// Truncated and hand-made frames.
	syn := frameNamed(tb, fs, "tcp syn 8888")
	add("ethernet header only", append([]byte(nil), syn[:14]...))
	add("ip header cut", append([]byte(nil), syn[:24]...))
	add("tcp header cut", append([]byte(nil), syn[:40]...))
	add("tcp flags cut", append([]byte(nil), syn[:47]...))
	add("10 bytes", append([]byte(nil), syn[:10]...))
	add("1 byte", []byte{0xff})
	add("empty", []byte{})
	{
		bad := append([]byte(nil), syn...)
		bad[14] = 0x4f // IHL 15: L4 "starts" 60 bytes in, past this frame
		add("ihl 15", bad)
	}
	{
		bad := append([]byte(nil), syn...)
		bad[14] = 0x40 // IHL 0
		add("ihl 0", bad)
	}
	return fs
}

func frameNamed(tb testing.TB, fs []frame, name string) []byte {
	tb.Helper()
	for _, f := range fs {
		if f.name == name {
			return f.data
		}
	}
	tb.Fatalf("no frame %q", name)
	return nil
}
