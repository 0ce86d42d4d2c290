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

// ARPFrame is an Ethernet frame carrying an ARP request or reply for IPv4
// over Ethernet.
type ARPFrame struct {
	SrcMAC, DstMAC     net.HardwareAddr // of the Ethernet header
	Operation          uint16           // ARPRequest or ARPReply
	SenderHW, TargetHW net.HardwareAddr
	SenderIP, TargetIP netip.Addr
}

// Bytes builds the frame, padded to the shortest Ethernet frame.
func (a ARPFrame) Bytes() ([]byte, error) {
	for _, mac := range []net.HardwareAddr{a.SrcMAC, a.DstMAC, a.SenderHW, a.TargetHW} {
		if len(mac) != 6 {
			return nil, fmt.Errorf("arp frame: mac address %v is not 6 bytes", mac)
		}
	}
	if !a.SenderIP.Is4() || !a.TargetIP.Is4() {
		return nil, fmt.Errorf("arp frame %v -> %v: want IPv4 addresses", a.SenderIP, a.TargetIP)
	}
	frame := make([]byte, minFrame)
	copy(frame[0:6], a.DstMAC)
	copy(frame[6:12], a.SrcMAC)
	frame[12], frame[13] = EtherTypeARP>>8, EtherTypeARP&0xff
	arp := frame[14:]
	arp[1] = 1                  // hardware: Ethernet
	arp[2], arp[3] = 0x08, 0x00 // protocol: IPv4
	arp[4], arp[5] = 6, 4       // address sizes
	arp[6], arp[7] = byte(a.Operation>>8), byte(a.Operation)
	s, t := a.SenderIP.As4(), a.TargetIP.As4()
	copy(arp[8:14], a.SenderHW)
	copy(arp[14:18], s[:])
	copy(arp[18:24], a.TargetHW)
	copy(arp[24:28], t[:])
	return frame, nil
}
