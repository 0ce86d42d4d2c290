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
	Payload []byte
}

// Bytes builds the frame with its lengths and checksums filled in.
func (m ICMPv4Frame) Bytes() ([]byte, error) {
	if !m.Src.Is4() || !m.Dst.Is4() {
		return nil, fmt.Errorf("icmp message %v -> %v: want IPv4 addresses", m.Src, m.Dst)
	}
	msg := make([]byte, 8+len(m.Payload))
	msg[0], msg[1] = m.Type, m.Code
	binary.BigEndian.PutUint16(msg[4:], m.ID)
	binary.BigEndian.PutUint16(msg[6:], m.Seq)
	copy(msg[8:], m.Payload)
	return ipFrame(m.SrcMAC, m.DstMAC, m.Src, m.Dst, ProtoICMPv4, m.TTL, msg, 2)
}

// ARPFrame is an Ethernet frame carrying an ARP request or reply for IPv4
// over Ethernet.
type ARPFrame struct {
	// SrcMAC and DstMAC are the Ethernet header's (a request goes to
	// ff:ff:ff:ff:ff:ff).
	SrcMAC, DstMAC       net.HardwareAddr
	Operation            uint16 // ARPRequest or ARPReply
	SenderMAC, TargetMAC net.HardwareAddr
	SenderIP, TargetIP   netip.Addr
}

// Bytes builds the frame, padded to the Ethernet minimum as a NIC pads it.
func (a ARPFrame) Bytes() ([]byte, error) {
	for _, mac := range []net.HardwareAddr{a.SrcMAC, a.DstMAC, a.SenderMAC, a.TargetMAC} {
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
	binary.BigEndian.PutUint16(frame[12:], EtherTypeARP)
	p := frame[14:]
	binary.BigEndian.PutUint16(p[0:], 1) // hardware: Ethernet
	binary.BigEndian.PutUint16(p[2:], EtherTypeIPv4)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], a.Operation)
	s, t := a.SenderIP.As4(), a.TargetIP.As4()
	copy(p[8:14], a.SenderMAC)
	copy(p[14:18], s[:])
	copy(p[18:24], a.TargetMAC)
	copy(p[24:28], t[:])
	return frame, nil
}
