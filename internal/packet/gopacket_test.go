package packet

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// disagreements decodes data with Decode and with gopacket and lists where
// they differ. Fields are compared when gopacket decodes the frame without
// an error; with an error, only that Decode fails where gopacket does is
// not required (gopacket also decodes, and fails on, protocols Decode
// does not know), but Decode failing where gopacket succeeds is a
// disagreement.
func disagreements(data []byte) (diffs []string) {
	f := Decode(data)
	gp := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	bad := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if gp.ErrorLayer() != nil {
		return nil
	}
	ls := gp.Layers()
	// gopacket stops, without an error, where no bytes are left for the
	// next header; Decode calls that header truncated.
	stopped := len(ls) > 0 && len(ls[len(ls)-1].LayerPayload()) == 0
	if f.Err != nil && !(stopped && errors.Is(f.Err, ErrTruncated)) {
		bad("Err = %v, gopacket decodes the frame without error", f.Err)
	}
	at := 0
	next := func() gopacket.Layer {
		if at < len(ls) {
			at++
			return ls[at-1]
		}
		return nil
	}

	eth, ok := next().(*layers.Ethernet)
	if !ok {
		bad("gopacket has no Ethernet layer and no error")
		return diffs
	}
	wantType := uint16(eth.EthernetType)
	if f.Ethernet.Type < 0x0600 {
		wantType = uint16(layers.EthernetTypeLLC)
	}
	if !f.Has(LayerEthernet) || !bytes.Equal(f.Ethernet.Dst, eth.DstMAC) || !bytes.Equal(f.Ethernet.Src, eth.SrcMAC) ||
		(f.Ethernet.Type >= 0x0600 && f.Ethernet.Type != wantType) || (f.Ethernet.Type < 0x0600 && eth.EthernetType != layers.EthernetTypeLLC) {
		bad("Ethernet %+v, gopacket %v %v %v", f.Ethernet, eth.DstMAC, eth.SrcMAC, eth.EthernetType)
	}

	l := next()
	tags := 0
	for {
		tag, ok := l.(*layers.Dot1Q)
		if !ok {
			break
		}
		if tags == 0 && f.VLAN != (VLAN{Priority: tag.Priority, DropEligible: tag.DropEligible, ID: tag.VLANIdentifier, Type: uint16(tag.Type)}) {
			bad("VLAN %+v, gopacket %+v", f.VLAN, tag)
		}
		tags++
		l = next()
	}
	if tags != f.VLANTags || (tags > 0) != f.Has(LayerDot1Q) {
		bad("%d VLAN tags (layers %b), gopacket %d", f.VLANTags, f.Layers, tags)
	}

	switch n := l.(type) {
	case *layers.ARP:
		a := f.ARP
		// gopacket keeps only the low byte of the hardware type (its
		// LinkType is a byte).
		if !f.Has(LayerARP) || uint8(a.HardwareType) != uint8(n.AddrType) || a.ProtocolType != uint16(n.Protocol) || a.Operation != n.Operation ||
			!bytes.Equal(a.SenderHW, n.SourceHwAddress) || !bytes.Equal(a.SenderProto, n.SourceProtAddress) ||
			!bytes.Equal(a.TargetHW, n.DstHwAddress) || !bytes.Equal(a.TargetProto, n.DstProtAddress) {
			bad("ARP %+v (layers %b), gopacket %+v", a, f.Layers, n)
		}
	case *layers.IPv4:
		ip := f.IPv4
		total := ip.TotalLength
		if total == 0 {
			total = n.Length // gopacket puts the length it assumed there
		}
		if !f.Has(LayerIPv4) || ip.Version != n.Version || ip.IHL != n.IHL || ip.TOS != n.TOS || total != n.Length ||
			ip.ID != n.Id || ip.Flags != uint8(n.Flags) || ip.FragOffset != n.FragOffset || ip.TTL != n.TTL ||
			ip.Protocol != uint8(n.Protocol) || ip.Checksum != n.Checksum || ip.Src != addr(n.SrcIP) || ip.Dst != addr(n.DstIP) ||
			!bytes.Equal(ip.Options, n.Contents[20:]) || !bytes.Equal(ip.Payload, n.Payload) {
			bad("IPv4 %+v (layers %b), gopacket %+v", ip, f.Layers, n)
		}
		if !ip.IsFragment() {
			compareL4(next(), &f, bad)
		} else if f.Layers&(LayerTCP|LayerUDP|LayerICMPv4) != 0 {
			bad("a fragment decoded past IPv4: layers %b", f.Layers)
		}
	case *layers.IPv6:
		ip := f.IPv6
		if !f.Has(LayerIPv6) || ip.Version != n.Version || ip.TrafficClass != n.TrafficClass || ip.FlowLabel != n.FlowLabel ||
			ip.Length != n.Length || ip.NextHeader != uint8(n.NextHeader) || ip.HopLimit != n.HopLimit ||
			ip.Src != addr(n.SrcIP) || ip.Dst != addr(n.DstIP) {
			bad("IPv6 %+v (layers %b), gopacket %+v", ip, f.Layers, n)
		}
		if n.HopByHop == nil {
			if !bytes.Equal(ip.Payload, n.Payload) {
				bad("IPv6 payload %x, gopacket %x", ip.Payload, n.Payload)
			}
			compareL4(next(), &f, bad)
		} else if f.Layers&(LayerTCP|LayerUDP|LayerICMPv6) != 0 {
			bad("decoded past an IPv6 extension header: layers %b", f.Layers)
		}
	default:
		if f.Layers&(LayerARP|LayerIPv4|LayerIPv6) != 0 {
			bad("layers %b, gopacket has %v after Ethernet", f.Layers, layerType(l))
		}
	}
	return diffs
}

func compareL4(l gopacket.Layer, f *Frame, bad func(string, ...any)) {
	switch t := l.(type) {
	case *layers.TCP:
		g := TCP{SrcPort: uint16(t.SrcPort), DstPort: uint16(t.DstPort), Seq: t.Seq, Ack: t.Ack, DataOffset: t.DataOffset,
			Window: t.Window, Checksum: t.Checksum, Urgent: t.Urgent}
		for i, set := range []bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR} {
			if set {
				g.Flags |= 1 << i
			}
		}
		m := f.TCP
		if !f.Has(LayerTCP) || !bytes.Equal(m.Options, t.Contents[20:]) || !bytes.Equal(m.Payload, t.Payload) {
			bad("TCP options/payload %x/%x (layers %b), gopacket %x/%x", m.Options, m.Payload, f.Layers, t.Contents[20:], t.Payload)
		}
		m.Options, m.Payload = nil, nil
		if fmt.Sprint(m) != fmt.Sprint(g) {
			bad("TCP %+v, gopacket %+v", m, g)
		}
	case *layers.UDP:
		m := f.UDP
		if !f.Has(LayerUDP) || m.SrcPort != uint16(t.SrcPort) || m.DstPort != uint16(t.DstPort) || m.Length != t.Length ||
			m.Checksum != t.Checksum || !bytes.Equal(m.Payload, t.Payload) {
			bad("UDP %+v (layers %b), gopacket %+v", m, f.Layers, t)
		}
	case *layers.ICMPv4:
		m := f.ICMPv4
		if !f.Has(LayerICMPv4) || m.Type != t.TypeCode.Type() || m.Code != t.TypeCode.Code() || m.Checksum != t.Checksum ||
			m.ID != t.Id || m.Seq != t.Seq || !bytes.Equal(m.Payload, t.Payload) {
			bad("ICMPv4 %+v (layers %b), gopacket %+v", m, f.Layers, t)
		}
	case *layers.ICMPv6:
		m := f.ICMPv6
		if !f.Has(LayerICMPv6) || m.Type != t.TypeCode.Type() || m.Code != t.TypeCode.Code() || m.Checksum != t.Checksum ||
			!bytes.Equal(m.Payload, t.Payload) {
			bad("ICMPv6 %+v (layers %b), gopacket %+v", m, f.Layers, t)
		}
	default:
		if f.Layers&(LayerTCP|LayerUDP|LayerICMPv4|LayerICMPv6) != 0 {
			bad("layers %b, gopacket has %v after IP", f.Layers, layerType(l))
		}
	}
}

func layerType(l gopacket.Layer) any {
	if l == nil {
		return "nothing"
	}
	return l.LayerType()
}

func addr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a
}

// wantSummary is what Summary must print for data: what internal/capture
// printed when it described packets with gopacket (gopacketSummary), with
// two documented exceptions where gopacket printed a header it could not
// read as zero values:
//   - an IPv4 header shorter than 20 bytes ("<nil> > <nil>: IPv6HopByHop")
//     is described by its EtherType, like an ARP packet that is too short;
//   - a TCP or UDP header cut short ("192.168.0.3.0 > 192.168.0.2.0: Flags
//     [], seq 0, length 0") is described by the IP protocol, like an ICMP
//     header that is too short.
//
// comparable is false where gopacket found the ARP, IPv4, TCP, UDP or ICMP
// header it describes inside a header Decode does not decode (LLC/SNAP,
// MPLS, PPPoE, IP-in-IP, GRE, IPv6 extension headers...).
func wantSummary(data []byte) (want string, comparable bool) {
	gp := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	ls := gp.Layers()
	first := func(ts ...gopacket.LayerType) int {
		for i, l := range ls {
			for _, t := range ts {
				if l.LayerType() == t {
					return i
				}
			}
		}
		return -1
	}
	netAt := 1
	for netAt < len(ls) && ls[netAt].LayerType() == layers.LayerTypeDot1Q {
		netAt++
	}
	if a := first(layers.LayerTypeARP); a >= 0 && a != netAt {
		return "", false
	}
	if i := first(layers.LayerTypeIPv4); i >= 0 {
		if i != netAt {
			return "", false
		}
		if l4 := first(layers.LayerTypeTCP, layers.LayerTypeUDP, layers.LayerTypeICMPv4); l4 >= 0 && l4 != netAt+1 {
			return "", false
		}
		ip := ls[i].(*layers.IPv4)
		eth := ls[0].(*layers.Ethernet)
		if ip.SrcIP == nil {
			return fmt.Sprintf("ethertype %s (0x%04x)", eth.EthernetType, uint16(eth.EthernetType)), true
		}
		switch {
		case ip.Protocol == layers.IPProtocolTCP && first(layers.LayerTypeTCP) >= 0 && len(ip.Payload) < 20,
			ip.Protocol == layers.IPProtocolUDP && first(layers.LayerTypeUDP) >= 0 && len(ip.Payload) < 8:
			return fmt.Sprintf("%s > %s: %s", ip.SrcIP, ip.DstIP, ip.Protocol), true
		}
	}
	return gopacketSummary(data), true
}

// gopacketSummary is internal/capture's describePacket as it was when it
// used gopacket: the reference for Summary.
func gopacketSummary(data []byte) string {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	if arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		ip := func(b []byte) string { return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]) }
		if len(arp.DstProtAddress) != 4 || len(arp.SourceProtAddress) != 4 {
			return "ARP"
		}
		if arp.Operation == layers.ARPRequest {
			return fmt.Sprintf("ARP, Request who-has %s tell %s", ip(arp.DstProtAddress), ip(arp.SourceProtAddress))
		}
		return fmt.Sprintf("ARP, Reply %s is-at %s", ip(arp.SourceProtAddress), net.HardwareAddr(arp.SourceHwAddress))
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
		return fmt.Sprintf("%s.%d > %s.%d: Flags [%s], seq %d, length %d", src, l4.SrcPort, dst, l4.DstPort, gopacketTCPFlags(l4), l4.Seq, len(l4.Payload))
	}
	if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		s := fmt.Sprintf("%s > %s: ICMP %s", src, dst, gopacketICMPName(icmp.TypeCode))
		if t := icmp.TypeCode.Type(); t == layers.ICMPv4TypeEchoRequest || t == layers.ICMPv4TypeEchoReply {
			s += fmt.Sprintf(", id %d, seq %d", icmp.Id, icmp.Seq)
		}
		return s
	}
	return fmt.Sprintf("%s > %s: %s", src, dst, ip4.Protocol)
}

func gopacketICMPName(tc layers.ICMPv4TypeCode) string {
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

func gopacketTCPFlags(t *layers.TCP) string {
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
