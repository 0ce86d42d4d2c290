package packet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// Frames a lab writes raw on a link when the kernel would not send them
// (IPv6 is off in the namespaces).

// TCPFrame is an Ethernet frame carrying one TCP segment over IPv4 or IPv6,
// as the addresses say.
type TCPFrame struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.AddrPort
	Seq, Ack       uint32
	Flags          uint8 // TCPSyn, TCPAck, ...
	Window         uint16
	TTL            uint8 // the hop limit for IPv6; 0 means 64
	// Options are the TCP options and IPOptions the IPv4 options (IPv4
	// only), each up to 40 bytes in whole 32-bit words, as the header
	// length fields count them: a parser that skips them by doff and ihl
	// finds what follows.
	Options, IPOptions []byte
	Payload            []byte
}

// minFrame is the shortest Ethernet frame without its FCS: shorter ones
// are padded with zeros, as a NIC pads them.
const minFrame = 60

// Bytes builds the frame with its lengths and checksums (IPv4 header, TCP
// over the pseudo-header) filled in.
func (t TCPFrame) Bytes() ([]byte, error) {
	if err := words("tcp options", t.Options); err != nil {
		return nil, err
	}
	if err := words("ipv4 options", t.IPOptions); err != nil {
		return nil, err
	}
	if len(t.IPOptions) > 0 && !t.Src.Addr().Is4() {
		return nil, fmt.Errorf("ip options for %v: only IPv4 has them", t.Src.Addr())
	}
	hlen := 20 + len(t.Options)
	seg := make([]byte, hlen+len(t.Payload))
	binary.BigEndian.PutUint16(seg[0:], t.Src.Port())
	binary.BigEndian.PutUint16(seg[2:], t.Dst.Port())
	binary.BigEndian.PutUint32(seg[4:], t.Seq)
	binary.BigEndian.PutUint32(seg[8:], t.Ack)
	seg[12] = uint8(hlen/4) << 4 // data offset in 32-bit words
	seg[13] = t.Flags
	binary.BigEndian.PutUint16(seg[14:], t.Window)
	copy(seg[20:], t.Options)
	copy(seg[hlen:], t.Payload)
	return ipFrame(t.SrcMAC, t.DstMAC, t.Src.Addr(), t.Dst.Addr(), ProtoTCP, t.TTL, t.IPOptions, seg, 16)
}

// words refuses options that a header length field cannot count: not whole
// 32-bit words, or more than 40 bytes.
func words(what string, opts []byte) error {
	if len(opts)%4 != 0 || len(opts) > 40 {
		return fmt.Errorf("%s of %d bytes: want up to 40, in whole 32-bit words", what, len(opts))
	}
	return nil
}

// UDPFrame is an Ethernet frame carrying one UDP datagram over IPv4 or
// IPv6, as the addresses say.
type UDPFrame struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.AddrPort
	TTL            uint8 // the hop limit for IPv6; 0 means 64
	Payload        []byte
}

// Bytes builds the frame with its lengths and checksums filled in.
func (u UDPFrame) Bytes() ([]byte, error) {
	if 8+len(u.Payload) > 0xffff {
		return nil, fmt.Errorf("udp payload of %d bytes does not fit in a datagram", len(u.Payload))
	}
	dgram := make([]byte, 8+len(u.Payload))
	binary.BigEndian.PutUint16(dgram[0:], u.Src.Port())
	binary.BigEndian.PutUint16(dgram[2:], u.Dst.Port())
	binary.BigEndian.PutUint16(dgram[4:], uint16(len(dgram)))
	copy(dgram[8:], u.Payload)
	return ipFrame(u.SrcMAC, u.DstMAC, u.Src.Addr(), u.Dst.Addr(), ProtoUDP, u.TTL, nil, dgram, 6)
}

// ICMPv6Echo is an Ethernet frame carrying an ICMPv6 echo request.
type ICMPv6Echo struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	ID, Seq        uint16
	HopLimit       uint8 // 0 means 64
	Payload        []byte
}

// Bytes builds the frame with its lengths and checksum filled in.
func (e ICMPv6Echo) Bytes() ([]byte, error) {
	if e.Src.Is4() || e.Dst.Is4() {
		return nil, fmt.Errorf("icmpv6 echo %v -> %v: want IPv6 addresses", e.Src, e.Dst)
	}
	msg := make([]byte, 8+len(e.Payload))
	msg[0] = 128 // echo request, code 0
	binary.BigEndian.PutUint16(msg[4:], e.ID)
	binary.BigEndian.PutUint16(msg[6:], e.Seq)
	copy(msg[8:], e.Payload)
	return ipFrame(e.SrcMAC, e.DstMAC, e.Src, e.Dst, ProtoICMPv6, e.HopLimit, nil, msg, 2)
}

// ipFrame puts an IPv4 (with ipOpts after its fixed part) or IPv6 header,
// as the addresses say, and an Ethernet header in front of an upper-layer
// message, and writes the message's checksum over the pseudo-header at
// csumAt (none when csumAt < 0).
func ipFrame(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, proto, ttl uint8, ipOpts, msg []byte, csumAt int) ([]byte, error) {
	if len(srcMAC) != 6 || len(dstMAC) != 6 {
		return nil, fmt.Errorf("mac addresses %v -> %v are not 6 bytes", srcMAC, dstMAC)
	}
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() || src.Is4In6() || dst.Is4In6() {
		return nil, fmt.Errorf("addresses %v -> %v are not both IPv4 or both IPv6", src, dst)
	}
	if ttl == 0 {
		ttl = 64
	}
	ipLen := 40
	etherType := uint16(EtherTypeIPv6)
	if src.Is4() {
		ipLen, etherType = 20+len(ipOpts), EtherTypeIPv4
	}
	if ipLen+len(msg) > 0xffff {
		return nil, fmt.Errorf("%s payload of %d bytes does not fit in an ip packet", IPProtoName(proto), len(msg))
	}
	frame := make([]byte, max(14+ipLen+len(msg), minFrame))
	copy(frame[0:6], dstMAC)
	copy(frame[6:12], srcMAC)
	binary.BigEndian.PutUint16(frame[12:], etherType)

	ip, body := frame[14:14+ipLen], frame[14+ipLen:14+ipLen+len(msg)]
	var pseudo uint32 // the pseudo-header's sum: addresses, protocol, length
	if src.Is4() {
		ip[0] = 0x40 | uint8(ipLen/4)
		binary.BigEndian.PutUint16(ip[2:], uint16(ipLen+len(msg)))
		ip[8], ip[9] = ttl, proto
		s, d := src.As4(), dst.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		copy(ip[20:], ipOpts)
		binary.BigEndian.PutUint16(ip[10:], fold(sum(ip, 0)))
		pseudo = sum(ip[12:20], uint32(proto)+uint32(len(msg)))
	} else {
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(msg)))
		ip[6], ip[7] = proto, ttl
		s, d := src.As16(), dst.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		pseudo = sum(ip[8:40], uint32(proto)+uint32(len(msg)))
	}
	copy(body, msg)
	if csumAt < 0 {
		return frame, nil // a protocol without a checksum over the pseudo-header
	}
	csum := fold(sum(body, pseudo))
	if csum == 0 && proto == ProtoUDP {
		csum = 0xffff // 0 means "no checksum" in UDP, which IPv6 forbids
	}
	binary.BigEndian.PutUint16(body[csumAt:], csum)
	return frame, nil
}

// sum adds b as big-endian 16-bit words (an odd last byte padded with a
// zero) to acc, the Internet checksum's running sum.
func sum(b []byte, acc uint32) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// fold folds a running sum to 16 bits and complements it.
func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return ^uint16(acc)
}
