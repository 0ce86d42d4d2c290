// Package packet decodes the Ethernet, ARP, IP, TCP, UDP and ICMP headers the labs look at, and builds the raw frames they send.
package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Layer is a set of headers, one bit each.
type Layer uint16

// The headers Decode knows.
const (
	LayerEthernet Layer = 1 << iota
	LayerDot1Q
	LayerARP
	LayerIPv4
	LayerIPv6
	LayerTCP
	LayerUDP
	LayerICMPv4
	LayerICMPv6
)

// EtherTypes and IP protocol numbers Decode follows.
const (
	EtherTypeIPv4  = 0x0800
	EtherTypeARP   = 0x0806
	EtherTypeDot1Q = 0x8100
	EtherTypeQinQ  = 0x88a8
	EtherTypeIPv6  = 0x86dd

	ProtoICMPv4 = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// ErrTruncated is wrapped by Frame.Err when a header is cut short.
var ErrTruncated = errors.New("truncated")

// Frame is a decoded Ethernet frame. Its byte slices (addresses of ARP,
// payloads) alias the data given to Decode, which must not change while
// the Frame is in use.
type Frame struct {
	// Layers holds every header whose fields below are filled in.
	Layers Layer
	// Err says why decoding stopped before the end of the headers: a header
	// too short to hold its fixed part (then it is not in Layers), or one
	// whose length fields contradict each other (then it is in Layers, with
	// the fields it has, and nothing after it is decoded). Decoding also
	// stops, without an error, at a protocol it does not know, at an IPv6
	// extension header and at a non-first IPv4 fragment or one with more to
	// come.
	Err error

	Ethernet Ethernet
	// VLAN is the outermost 802.1Q (or 802.1ad) tag, VLANTags how many tags
	// the frame has; the headers after the last one are decoded.
	VLAN     VLAN
	VLANTags int
	ARP      ARP
	IPv4     IPv4
	IPv6     IPv6
	TCP      TCP
	UDP      UDP
	ICMPv4   ICMPv4
	ICMPv6   ICMPv6
}

// Has reports whether every header of l was decoded.
func (f *Frame) Has(l Layer) bool { return f.Layers&l == l }

// Ethernet is an Ethernet II (or 802.3) header.
type Ethernet struct {
	Dst, Src net.HardwareAddr
	// Type is the field after the addresses as on the wire: 0x8100 for a
	// tagged frame, a length (below 0x0600) for an 802.3 frame.
	Type uint16
}

// VLAN is an 802.1Q tag.
type VLAN struct {
	Priority     uint8
	DropEligible bool
	ID           uint16
	Type         uint16 // EtherType of what follows the tag
}

// ARP is an ARP packet; addresses are as long as its size fields say.
type ARP struct {
	HardwareType, ProtocolType uint16
	Operation                  uint16 // 1 request, 2 reply
	SenderHW, SenderProto      []byte
	TargetHW, TargetProto      []byte
}

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// IPv4 is an IPv4 header.
type IPv4 struct {
	Version, IHL uint8
	TOS          uint8
	// TotalLength is the field as on the wire; 0 (segmentation offload)
	// means "the rest of the frame", as gopacket and the kernel read it.
	TotalLength uint16
	ID          uint16
	Flags       uint8 // 3 bits: reserved, DF (0x2), MF (0x1)
	FragOffset  uint16
	TTL         uint8
	Protocol    uint8
	Checksum    uint16
	Src, Dst    netip.Addr
	Options     []byte // the header bytes after the first 20
	Payload     []byte // up to TotalLength: Ethernet padding is not payload
}

// IPv4 flags.
const (
	IPv4DontFragment  = 0x2
	IPv4MoreFragments = 0x1
)

// IsFragment reports whether the packet is a piece of a fragmented datagram
// (more to come, or not the first): only the first holds the L4 header, and
// Decode decodes none of them past IPv4.
func (ip *IPv4) IsFragment() bool {
	return ip.Flags&IPv4MoreFragments != 0 || ip.FragOffset != 0
}

// IPv6 is an IPv6 fixed header.
type IPv6 struct {
	Version      uint8
	TrafficClass uint8
	FlowLabel    uint32
	Length       uint16 // payload length
	NextHeader   uint8
	HopLimit     uint8
	Src, Dst     netip.Addr
	Payload      []byte // up to Length
}

// TCP is a TCP header.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOffset       uint8 // in 32-bit words
	Flags            uint8 // FIN 0x01 ... CWR 0x80; NS is not kept
	Window           uint16
	Checksum         uint16
	Urgent           uint16
	Options          []byte
	Payload          []byte
}

// TCP flags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// UDP is a UDP header.
type UDP struct {
	SrcPort, DstPort uint16
	Length           uint16
	Checksum         uint16
	Payload          []byte // up to Length (or to the end when Length is 0: a jumbogram)
}

// ICMPv4 is an ICMP header; ID and Seq are the echo fields (rest of header).
type ICMPv4 struct {
	Type, Code uint8
	Checksum   uint16
	ID, Seq    uint16
	Payload    []byte
}

// ICMP types the labs send and answer.
const (
	ICMPv4EchoReply   = 0
	ICMPv4Unreachable = 3
	ICMPv4EchoRequest = 8
)

// ICMPv6 is an ICMPv6 header.
type ICMPv6 struct {
	Type, Code uint8
	Checksum   uint16
	Payload    []byte
}

// Decode decodes an Ethernet frame as far as it can. It never panics: a
// short or inconsistent header ends decoding and is described by Err.
func Decode(data []byte) Frame {
	var f Frame
	f.decode(data)
	return f
}

func (f *Frame) fail(format string, args ...any) {
	f.Err = fmt.Errorf(format, args...)
}

func (f *Frame) decode(data []byte) {
	if len(data) < 14 {
		f.fail("ethernet header: %d bytes, need 14: %w", len(data), ErrTruncated)
		return
	}
	f.Ethernet = Ethernet{Dst: net.HardwareAddr(data[0:6:6]), Src: net.HardwareAddr(data[6:12:12]), Type: be16(data[12:])}
	f.Layers |= LayerEthernet
	typ, rest := f.Ethernet.Type, data[14:]
	for typ == EtherTypeDot1Q || typ == EtherTypeQinQ {
		if len(rest) < 4 {
			f.fail("802.1Q tag: %d bytes, need 4: %w", len(rest), ErrTruncated)
			return
		}
		tag := VLAN{Priority: rest[0] >> 5, DropEligible: rest[0]&0x10 != 0, ID: be16(rest) & 0x0fff, Type: be16(rest[2:])}
		if f.VLANTags == 0 {
			f.VLAN = tag
			f.Layers |= LayerDot1Q
		}
		f.VLANTags++
		typ, rest = tag.Type, rest[4:]
	}
	switch typ {
	case EtherTypeARP:
		f.decodeARP(rest)
	case EtherTypeIPv4:
		f.decodeIPv4(rest)
	case EtherTypeIPv6:
		f.decodeIPv6(rest)
	}
}

func (f *Frame) decodeARP(data []byte) {
	if len(data) < 8 {
		f.fail("arp header: %d bytes, need 8: %w", len(data), ErrTruncated)
		return
	}
	hw, proto := int(data[4]), int(data[5])
	// Sizes past 255 bytes in all are refused too: no link or network
	// layer has such addresses, and gopacket computes the length in a byte.
	if n := 8 + 2*hw + 2*proto; n > len(data) || n > 0xff {
		f.fail("arp packet: %d bytes, need %d: %w", len(data), n, ErrTruncated)
		return
	}
	a := ARP{HardwareType: be16(data), ProtocolType: be16(data[2:]), Operation: be16(data[6:])}
	off := 8
	next := func(n int) []byte { b := data[off : off+n : off+n]; off += n; return b }
	a.SenderHW, a.SenderProto = next(hw), next(proto)
	a.TargetHW, a.TargetProto = next(hw), next(proto)
	f.ARP = a
	f.Layers |= LayerARP
}

func (f *Frame) decodeIPv4(data []byte) {
	if len(data) < 20 {
		f.fail("ipv4 header: %d bytes, need 20: %w", len(data), ErrTruncated)
		return
	}
	ip := IPv4{
		Version: data[0] >> 4, IHL: data[0] & 0x0f, TOS: data[1],
		TotalLength: be16(data[2:]), ID: be16(data[4:]),
		Flags: data[6] >> 5, FragOffset: be16(data[6:]) & 0x1fff,
		TTL: data[8], Protocol: data[9], Checksum: be16(data[10:]),
		Src: netip.AddrFrom4([4]byte(data[12:16])), Dst: netip.AddrFrom4([4]byte(data[16:20])),
	}
	f.IPv4 = ip
	f.Layers |= LayerIPv4
	total := int(ip.TotalLength)
	if total == 0 {
		total = len(data)
	}
	hlen := int(ip.IHL) * 4
	switch {
	case total < 20:
		f.fail("ipv4 total length %d is less than 20", total)
		return
	case ip.IHL < 5:
		f.fail("ipv4 header length %d is less than 20", hlen)
		return
	case hlen > total:
		f.fail("ipv4 header length %d exceeds total length %d", hlen, total)
		return
	case hlen > len(data):
		f.fail("ipv4 header: %d bytes, need %d: %w", len(data), hlen, ErrTruncated)
		return
	}
	if err := checkIPv4Options(data[20:hlen]); err != nil {
		f.Err = err
		return
	}
	f.IPv4.Options = data[20:hlen:hlen]
	if total < len(data) {
		data = data[:total]
	}
	f.IPv4.Payload = data[hlen:]
	if ip.IsFragment() {
		return
	}
	f.decodeL4(ip.Protocol, f.IPv4.Payload)
}

// decodeL4 decodes what the IP protocol number names, whichever the IP
// version: ICMPv6 in IPv4 is odd, but its header is the same.
func (f *Frame) decodeL4(proto uint8, data []byte) {
	switch proto {
	case ProtoTCP:
		f.decodeTCP(data)
	case ProtoUDP:
		f.decodeUDP(data)
	case ProtoICMPv4:
		f.decodeICMPv4(data)
	case ProtoICMPv6:
		f.decodeICMPv6(data)
	}
}

// checkIPv4Options walks the option list: a length that runs past the
// header or is too small to hold itself makes the header unreadable.
func checkIPv4Options(opts []byte) error {
	for len(opts) > 0 {
		switch opts[0] {
		case 0: // end of list: the rest is padding
			return nil
		case 1: // no-op
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return fmt.Errorf("ipv4 option %d: no length byte: %w", opts[0], ErrTruncated)
		}
		n := int(opts[1])
		if n > len(opts) {
			return fmt.Errorf("ipv4 option %d: length %d runs past the header: %w", opts[0], n, ErrTruncated)
		}
		if n <= 2 {
			return fmt.Errorf("ipv4 option %d: length %d is too small", opts[0], n)
		}
		opts = opts[n:]
	}
	return nil
}

func (f *Frame) decodeIPv6(data []byte) {
	if len(data) < 40 {
		f.fail("ipv6 header: %d bytes, need 40: %w", len(data), ErrTruncated)
		return
	}
	ip := IPv6{
		Version: data[0] >> 4, TrafficClass: uint8(be16(data) >> 4), FlowLabel: be32(data) & 0x000fffff,
		Length: be16(data[4:]), NextHeader: data[6], HopLimit: data[7],
		Src: netip.AddrFrom16([16]byte(data[8:24])), Dst: netip.AddrFrom16([16]byte(data[24:40])),
	}
	payload := data[40:]
	if int(ip.Length) < len(payload) {
		payload = payload[:ip.Length]
	}
	ip.Payload = payload
	f.IPv6 = ip
	f.Layers |= LayerIPv6
	f.decodeL4(ip.NextHeader, payload)
}

func (f *Frame) decodeTCP(data []byte) {
	if len(data) < 20 {
		f.fail("tcp header: %d bytes, need 20: %w", len(data), ErrTruncated)
		return
	}
	f.TCP = TCP{
		SrcPort: be16(data), DstPort: be16(data[2:]),
		Seq: be32(data[4:]), Ack: be32(data[8:]),
		DataOffset: data[12] >> 4, Flags: data[13],
		Window: be16(data[14:]), Checksum: be16(data[16:]), Urgent: be16(data[18:]),
	}
	f.Layers |= LayerTCP
	hlen := int(f.TCP.DataOffset) * 4
	switch {
	case f.TCP.DataOffset < 5:
		f.fail("tcp data offset %d is less than 5", f.TCP.DataOffset)
	case hlen > len(data):
		f.fail("tcp header: %d bytes, need %d: %w", len(data), hlen, ErrTruncated)
	default:
		f.TCP.Options = data[20:hlen:hlen]
		f.TCP.Payload = data[hlen:]
	}
}

func (f *Frame) decodeUDP(data []byte) {
	if len(data) < 8 {
		f.fail("udp header: %d bytes, need 8: %w", len(data), ErrTruncated)
		return
	}
	f.UDP = UDP{SrcPort: be16(data), DstPort: be16(data[2:]), Length: be16(data[4:]), Checksum: be16(data[6:])}
	f.Layers |= LayerUDP
	switch n := int(f.UDP.Length); {
	case n == 0:
		f.UDP.Payload = data[8:]
	case n < 8:
		f.fail("udp length %d is less than 8", n)
	default:
		f.UDP.Payload = data[8:min(n, len(data))]
	}
}

func (f *Frame) decodeICMPv4(data []byte) {
	if len(data) < 8 {
		f.fail("icmp header: %d bytes, need 8: %w", len(data), ErrTruncated)
		return
	}
	f.ICMPv4 = ICMPv4{Type: data[0], Code: data[1], Checksum: be16(data[2:]), ID: be16(data[4:]), Seq: be16(data[6:]), Payload: data[8:]}
	f.Layers |= LayerICMPv4
}

func (f *Frame) decodeICMPv6(data []byte) {
	if len(data) < 4 {
		f.fail("icmpv6 header: %d bytes, need 4: %w", len(data), ErrTruncated)
		return
	}
	f.ICMPv6 = ICMPv6{Type: data[0], Code: data[1], Checksum: be16(data[2:]), Payload: data[4:]}
	f.Layers |= LayerICMPv6
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
