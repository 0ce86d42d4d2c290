package packet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// ICMPv4Frame is an Ethernet frame carrying one ICMP message over IPv4: an
// echo request or reply (ID, Seq), or an error (destination unreachable,
// time exceeded) whose Payload quotes the IP header and first 8 bytes of
// the packet it is about.
type ICMPv4Frame struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	Type, Code     uint8
	// ID and Seq are the rest of the header: an echo's identifier and
	// sequence number, 0 for an error.
	ID, Seq uint16
	TTL     uint8 // 0 means 64
	// IPOptions go after the fixed IPv4 header, up to 40 bytes in whole
	// 32-bit words (ping -R's record route is one): a parser must skip
	// them by ihl to find the ICMP header.
	IPOptions []byte
	Payload   []byte
}

// Bytes builds the frame with its lengths and checksums filled in. ICMP's
// checksum covers the message alone: IPv4 has no pseudo-header for it.
func (m ICMPv4Frame) Bytes() ([]byte, error) {
	if !m.Src.Is4() || !m.Dst.Is4() {
		return nil, fmt.Errorf("icmp message %v -> %v: want IPv4 addresses", m.Src, m.Dst)
	}
	if err := words("ipv4 options", m.IPOptions); err != nil {
		return nil, err
	}
	msg := make([]byte, 8+len(m.Payload))
	msg[0], msg[1] = m.Type, m.Code
	binary.BigEndian.PutUint16(msg[4:], m.ID)
	binary.BigEndian.PutUint16(msg[6:], m.Seq)
	copy(msg[8:], m.Payload)
	binary.BigEndian.PutUint16(msg[2:], fold(sum(msg, 0)))
	return ipFrame(m.SrcMAC, m.DstMAC, m.Src, m.Dst, ProtoICMPv4, m.TTL, m.IPOptions, msg, -1)
}
