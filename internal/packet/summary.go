package packet

import (
	"fmt"
	"net"
	"strings"
)

// Summary describes the frame in one tcpdump-like line:
// "192.168.0.3.40000 > 192.168.0.2.9: UDP, length 18",
// "192.168.0.3 > 192.168.0.2: ICMP echo request, id 7, seq 1",
// "ARP, Request who-has 192.168.0.2 tell 192.168.0.3",
// "ethertype IPv6 (0x86dd)". It is what `xdplab capture` has always
// printed (with gopacket's names for EtherTypes, IP protocols and ICMP
// types), so its output stays the same for a learner's scripts.
func (f *Frame) Summary() string {
	if f.Has(LayerARP) {
		a := &f.ARP
		if len(a.TargetProto) != 4 || len(a.SenderProto) != 4 {
			return "ARP"
		}
		if a.Operation == ARPRequest {
			return fmt.Sprintf("ARP, Request who-has %s tell %s", dotted(a.TargetProto), dotted(a.SenderProto))
		}
		return fmt.Sprintf("ARP, Reply %s is-at %s", dotted(a.SenderProto), net.HardwareAddr(a.SenderHW))
	}
	if !f.Has(LayerIPv4) {
		if f.Has(LayerEthernet) {
			t := f.Ethernet.Type
			if t < 0x0600 {
				t = 0 // an 802.3 length, not a type: "LLC"
			}
			return fmt.Sprintf("ethertype %s (0x%04x)", EtherTypeName(t), t)
		}
		return "not an Ethernet frame"
	}
	ip := &f.IPv4
	src, dst := ip.Src.String(), ip.Dst.String()
	switch {
	case f.Has(LayerUDP):
		return fmt.Sprintf("%s.%d > %s.%d: UDP, length %d", src, f.UDP.SrcPort, dst, f.UDP.DstPort, len(f.UDP.Payload))
	case f.Has(LayerTCP):
		t := &f.TCP
		return fmt.Sprintf("%s.%d > %s.%d: Flags [%s], seq %d, length %d", src, t.SrcPort, dst, t.DstPort, tcpFlags(t.Flags), t.Seq, len(t.Payload))
	case f.Has(LayerICMPv4):
		c := &f.ICMPv4
		s := fmt.Sprintf("%s > %s: ICMP %s", src, dst, icmpName(c.Type, c.Code))
		if c.Type == ICMPv4EchoRequest || c.Type == ICMPv4EchoReply {
			s += fmt.Sprintf(", id %d, seq %d", c.ID, c.Seq)
		}
		return s
	}
	return fmt.Sprintf("%s > %s: %s", src, dst, IPProtoName(ip.Protocol))
}

func dotted(b []byte) string { return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]) }

// tcpFlags spells flags as tcpdump does: S (SYN), F, R, P, . (ACK).
func tcpFlags(flags uint8) string {
	var b strings.Builder
	for _, f := range []struct {
		bit uint8
		c   byte
	}{{TCPFin, 'F'}, {TCPSyn, 'S'}, {TCPRst, 'R'}, {TCPPsh, 'P'}, {TCPUrg, 'U'}, {TCPAck, '.'}} {
		if flags&f.bit != 0 {
			b.WriteByte(f.c)
		}
	}
	return b.String()
}

func icmpName(typ, code uint8) string {
	switch typ {
	case ICMPv4EchoRequest:
		return "echo request"
	case ICMPv4EchoReply:
		return "echo reply"
	case ICMPv4Unreachable:
		return "unreachable"
	}
	return strings.ToLower(icmpTypeCode(typ, code))
}

// EtherTypeName names an EtherType as gopacket does ("IPv4", "Dot1Q",
// "UnknownEthernetType"); 0 is "LLC", gopacket's type for 802.3 frames.
func EtherTypeName(t uint16) string {
	if n, ok := etherTypeNames[t]; ok {
		return n
	}
	return "UnknownEthernetType"
}

var etherTypeNames = map[uint16]string{
	0x0000: "LLC",
	0x0800: "IPv4",
	0x0806: "ARP",
	0x86dd: "IPv6",
	0x2000: "CiscoDiscovery",
	0x01a2: "NortelDiscovery",
	0x6558: "TransparentEthernetBridging",
	0x8100: "Dot1Q",
	0x880b: "PPP",
	0x8863: "PPPoEDiscovery",
	0x8864: "PPPoESession",
	0x8847: "MPLSUnicast",
	0x8848: "MPLSMulticast",
	0x888e: "EAPOL",
	0x88be: "ERSPAN Type II",
	0x88a8: "Dot1Q",
	0x88cc: "LinkLayerDiscovery",
	0x9000: "EthernetCTP",
}

// IPProtoName names an IP protocol number as gopacket does ("TCP",
// "ICMPv4", "UnknownIPProtocol").
func IPProtoName(p uint8) string {
	if n, ok := ipProtoNames[p]; ok {
		return n
	}
	return "UnknownIPProtocol"
}

var ipProtoNames = map[uint8]string{
	0:   "IPv6HopByHop",
	1:   "ICMPv4",
	2:   "IGMP",
	4:   "IPv4",
	6:   "TCP",
	17:  "UDP",
	27:  "RUDP",
	41:  "IPv6",
	43:  "IPv6Routing",
	44:  "IPv6Fragment",
	47:  "GRE",
	50:  "IPSecESP",
	51:  "IPSecAH",
	58:  "ICMPv6",
	59:  "NoNextHeader",
	60:  "IPv6Destination",
	89:  "OSPF",
	94:  "IPv4",
	97:  "EtherIP",
	112: "VRRP",
	132: "SCTP",
	136: "UDPLite",
	137: "MPLS",
}

// icmpTypeCode names an ICMP type and code as gopacket does:
// "TimeExceeded(TTLExceeded)", "SourceQuench", "Redirect(Code: 9)", "42(0)".
func icmpTypeCode(typ, code uint8) string {
	t, ok := icmpTypes[typ]
	if !ok {
		return fmt.Sprintf("%d(%d)", typ, code)
	}
	if t.codes == nil {
		if code == 0 {
			return t.name
		}
		return fmt.Sprintf("%s(Code: %d)", t.name, code)
	}
	c, ok := t.codes[code]
	if !ok {
		return fmt.Sprintf("%s(Code: %d)", t.name, code)
	}
	return t.name + "(" + c + ")"
}

var icmpTypes = map[uint8]struct {
	name  string
	codes map[uint8]string
}{
	0: {"EchoReply", nil},
	3: {"DestinationUnreachable", map[uint8]string{
		0: "Net", 1: "Host", 2: "Protocol", 3: "Port", 4: "FragmentationNeeded", 5: "SourceRoutingFailed",
		6: "NetUnknown", 7: "HostUnknown", 8: "SourceIsolated", 9: "NetAdminProhibited", 10: "HostAdminProhibited",
		11: "NetTOS", 12: "HostTOS", 13: "CommAdminProhibited", 14: "HostPrecedence", 15: "PrecedenceCutoff",
	}},
	4:  {"SourceQuench", nil},
	5:  {"Redirect", map[uint8]string{0: "Net", 1: "Host", 2: "TOS+Net", 3: "TOS+Host"}},
	8:  {"EchoRequest", nil},
	9:  {"RouterAdvertisement", nil},
	10: {"RouterSolicitation", nil},
	11: {"TimeExceeded", map[uint8]string{0: "TTLExceeded", 1: "FragmentReassemblyTimeExceeded"}},
	12: {"ParameterProblem", map[uint8]string{0: "PointerIndicatesError", 1: "MissingOption", 2: "BadLength"}},
	13: {"TimestampRequest", nil},
	14: {"TimestampReply", nil},
	15: {"InfoRequest", nil},
	16: {"InfoReply", nil},
	17: {"AddressMaskRequest", nil},
	18: {"AddressMaskReply", nil},
}
