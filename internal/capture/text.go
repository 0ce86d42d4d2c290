package capture

import (
	"fmt"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Summary is a one-line description of a packet, tcpdump-like, for the
// terminal when no -w is given:
// "12:00:01.000123 XDPdrop 60 bytes 192.168.0.3.40000 > 192.168.0.2.9: UDP, length 18".
func Summary(p Packet) string {
	return fmt.Sprintf("%s %-11s %d bytes %s", p.Time.Format("15:04:05.000000"), p.Action.Interface(), p.Length, describePacket(p.Data))
}

func describePacket(data []byte) string {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	if arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		ip := func(b []byte) string { return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]) }
		if len(arp.DstProtAddress) != 4 || len(arp.SourceProtAddress) != 4 {
			return "ARP"
		}
		if arp.Operation == layers.ARPRequest {
			return fmt.Sprintf("ARP, Request who-has %s tell %s", ip(arp.DstProtAddress), ip(arp.SourceProtAddress))
		}
		return fmt.Sprintf("ARP, Reply %s is-at %v", ip(arp.SourceProtAddress), arp.SourceHwAddress)
	}
	ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		if eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
			return fmt.Sprintf("ethertype %s (0x%04x)", eth.EthernetType, uint16(eth.EthernetType))
		}
		return "not an Ethernet frame"
	}
	src, dst := ip4.SrcIP.String(), ip4.DstIP.String()
	switch l4 := pkt.TransportLayer().(type) {
	case *layers.UDP:
		return fmt.Sprintf("%s.%d > %s.%d: UDP, length %d", src, l4.SrcPort, dst, l4.DstPort, len(l4.Payload))
	case *layers.TCP:
		return fmt.Sprintf("%s.%d > %s.%d: Flags [%s], seq %d, length %d", src, l4.SrcPort, dst, l4.DstPort, tcpFlags(l4), l4.Seq, len(l4.Payload))
	}
	if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		s := fmt.Sprintf("%s > %s: ICMP %s", src, dst, icmpName(icmp.TypeCode))
		if t := icmp.TypeCode.Type(); t == layers.ICMPv4TypeEchoRequest || t == layers.ICMPv4TypeEchoReply {
			s += fmt.Sprintf(", id %d, seq %d", icmp.Id, icmp.Seq)
		}
		return s
	}
	return fmt.Sprintf("%s > %s: %s", src, dst, ip4.Protocol)
}

func icmpName(tc layers.ICMPv4TypeCode) string {
	switch tc.Type() {
	case layers.ICMPv4TypeEchoRequest:
		return "echo request"
	case layers.ICMPv4TypeEchoReply:
		return "echo reply"
	case layers.ICMPv4TypeDestinationUnreachable:
		return "unreachable"
	}
	return strings.ToLower(tc.String())
}

// tcpFlags spells flags as tcpdump does: S (SYN), F, R, P, . (ACK).
func tcpFlags(t *layers.TCP) string {
	var b strings.Builder
	for _, f := range []struct {
		set bool
		c   byte
	}{{t.FIN, 'F'}, {t.SYN, 'S'}, {t.RST, 'R'}, {t.PSH, 'P'}, {t.URG, 'U'}, {t.ACK, '.'}} {
		if f.set {
			b.WriteByte(f.c)
		}
	}
	return b.String()
}
