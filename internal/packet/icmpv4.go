package packet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// ICMPv4Frame is an Ethernet frame carrying one ICMP message over IPv4: an
// echo request, or any other type, whose four bytes after the checksum are
// ID and Seq.
type ICMPv4Frame struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	Type, Code     uint8
	ID, Seq        uint16
	TTL            uint8 // 0 means 64
	Payload        []byte
}

// Bytes builds the frame with its lengths and checksums filled in.
func (m ICMPv4Frame) Bytes() ([]byte, error) {
	if !m.Src.Is4() || !m.Dst.Is4() {
		return nil, fmt.Errorf("icmp %v -> %v: want IPv4 addresses", m.Src, m.Dst)
	}
	msg := make([]byte, 8+len(m.Payload))
	msg[0], msg[1] = m.Type, m.Code
	binary.BigEndian.PutUint16(msg[4:], m.ID)
	binary.BigEndian.PutUint16(msg[6:], m.Seq)
	copy(msg[8:], m.Payload)
	frame, err := ipFrame(m.SrcMAC, m.DstMAC, m.Src, m.Dst, ProtoICMPv4, m.TTL, nil, msg, 2)
	if err != nil {
		return nil, err
	}
	// ipFrame sums in a pseudo-header, as TCP and UDP want; the checksum
	// of ICMP over IPv4 covers the message alone.
	body := frame[14+20 : 14+20+len(msg)]
	binary.BigEndian.PutUint16(body[2:], 0)
	binary.BigEndian.PutUint16(body[2:], Checksum(body))
	return frame, nil
}

// Checksum is the Internet checksum of b (RFC 1071): the one's complement
// of the one's complement sum of its 16-bit words. Over a header or a
// message that holds its own checksum, it is 0 when that checksum is right.
func Checksum(b []byte) uint16 { return fold(sum(b, 0)) }
