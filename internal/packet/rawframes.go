package packet

import (
	"fmt"
	"net"
	"net/netip"
)

// IPv4Frame is an Ethernet frame carrying an IPv4 packet of any protocol,
// its payload as given: a protocol the stack would never send (255,
// IPPROTO_RAW), say.
type IPv4Frame struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	Protocol       uint8
	TTL            uint8 // 0 means 64
	Payload        []byte
}

// Bytes builds the frame with its length and header checksum filled in.
func (p IPv4Frame) Bytes() ([]byte, error) {
	if !p.Src.Is4() || !p.Dst.Is4() {
		return nil, fmt.Errorf("ipv4 frame %v -> %v: want IPv4 addresses", p.Src, p.Dst)
	}
	return ipFrame(p.SrcMAC, p.DstMAC, p.Src, p.Dst, p.Protocol, p.TTL, nil, p.Payload, -1)
}
