package packet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// TCPFrame is an Ethernet frame carrying one TCP segment (no options) over
// IPv4 or IPv6, as the addresses say: what a lab writes raw on a link when
// the kernel would not send it (IPv6 is off in the namespaces).
type TCPFrame struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.AddrPort
	Seq, Ack       uint32
	Flags          uint8 // TCPSyn, TCPAck, ...
	Window         uint16
	TTL            uint8 // the hop limit for IPv6; 0 means 64
	Payload        []byte
}

// minFrame is the shortest Ethernet frame without its FCS: shorter ones
// are padded with zeros, as a NIC pads them.
const minFrame = 60

// Bytes builds the frame with its lengths and checksums (IPv4 header, TCP
// over the pseudo-header) filled in.
func (t TCPFrame) Bytes() ([]byte, error) {
	if len(t.SrcMAC) != 6 || len(t.DstMAC) != 6 {
		return nil, fmt.Errorf("mac addresses %v -> %v are not 6 bytes", t.SrcMAC, t.DstMAC)
	}
	src, dst := t.Src.Addr(), t.Dst.Addr()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() || src.Is4In6() || dst.Is4In6() {
		return nil, fmt.Errorf("addresses %v -> %v are not both IPv4 or both IPv6", src, dst)
	}
	ttl := t.TTL
	if ttl == 0 {
		ttl = 64
	}
	ipLen := 40
	etherType := uint16(EtherTypeIPv6)
	if src.Is4() {
		ipLen, etherType = 20, EtherTypeIPv4
	}
	segLen := 20 + len(t.Payload)
	if ipLen+segLen > 0xffff {
		return nil, fmt.Errorf("tcp payload of %d bytes does not fit in an ip packet", len(t.Payload))
	}
	frame := make([]byte, max(14+ipLen+segLen, minFrame))
	copy(frame[0:6], t.DstMAC)
	copy(frame[6:12], t.SrcMAC)
	binary.BigEndian.PutUint16(frame[12:], etherType)

	ip, seg := frame[14:14+ipLen], frame[14+ipLen:14+ipLen+segLen]
	var pseudo uint32 // the pseudo-header's sum: addresses, protocol, length
	if src.Is4() {
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(ipLen+segLen))
		ip[8], ip[9] = ttl, ProtoTCP
		s, d := src.As4(), dst.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:], fold(sum(ip, 0)))
		pseudo = sum(ip[12:20], ProtoTCP+uint32(segLen))
	} else {
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(segLen))
		ip[6], ip[7] = ProtoTCP, ttl
		s, d := src.As16(), dst.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		pseudo = sum(ip[8:40], ProtoTCP+uint32(segLen))
	}

	binary.BigEndian.PutUint16(seg[0:], t.Src.Port())
	binary.BigEndian.PutUint16(seg[2:], t.Dst.Port())
	binary.BigEndian.PutUint32(seg[4:], t.Seq)
	binary.BigEndian.PutUint32(seg[8:], t.Ack)
	seg[12] = 5 << 4 // data offset: 20 bytes, no options
	seg[13] = t.Flags
	binary.BigEndian.PutUint16(seg[14:], t.Window)
	copy(seg[20:], t.Payload)
	binary.BigEndian.PutUint16(seg[16:], fold(sum(seg, pseudo)))
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
