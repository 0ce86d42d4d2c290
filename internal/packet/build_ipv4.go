package packet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// ICMPv4Echo is an Ethernet frame carrying an ICMP echo request or reply
// over IPv4, for a check that needs an echo the kernel would not send: one
// from another node's address, say.
type ICMPv4Echo struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	Reply          bool // an echo reply; an echo request otherwise
	ID, Seq        uint16
	TTL            uint8 // 0 means 64
	Payload        []byte
}

// Bytes builds the frame with its lengths and checksums filled in.
func (e ICMPv4Echo) Bytes() ([]byte, error) {
	typ := uint8(ICMPv4EchoRequest)
	if e.Reply {
		typ = ICMPv4EchoReply
	}
	return ICMPv4Frame{SrcMAC: e.SrcMAC, DstMAC: e.DstMAC, Src: e.Src, Dst: e.Dst, Type: typ,
		ID: e.ID, Seq: e.Seq, TTL: e.TTL, Payload: e.Payload}.Bytes()
}

// ARPFrame is an Ethernet frame carrying an ARP request or reply for IPv4
// over Ethernet.
type ARPFrame struct {
	// SrcMAC and DstMAC are the Ethernet header's: a request usually goes
	// to the broadcast address.
	SrcMAC, DstMAC net.HardwareAddr
	Operation      uint16 // ARPRequest or ARPReply
	SenderHW       net.HardwareAddr
	SenderIP       netip.Addr
	TargetHW       net.HardwareAddr // zeros in a request: nil is that
	TargetIP       netip.Addr
}

// Broadcast is the Ethernet broadcast address, where ARP requests go.
var Broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Bytes builds the frame, padded to the Ethernet minimum.
func (a ARPFrame) Bytes() ([]byte, error) {
	targetHW := a.TargetHW
	if targetHW == nil {
		targetHW = make(net.HardwareAddr, 6)
	}
	for _, m := range []net.HardwareAddr{a.SrcMAC, a.DstMAC, a.SenderHW, targetHW} {
		if len(m) != 6 {
			return nil, fmt.Errorf("arp frame: mac address %v is not 6 bytes", m)
		}
	}
	if !a.SenderIP.Is4() || !a.TargetIP.Is4() {
		return nil, fmt.Errorf("arp frame: %v and %v are not both IPv4 addresses", a.SenderIP, a.TargetIP)
	}
	frame := make([]byte, minFrame)
	copy(frame[0:6], a.DstMAC)
	copy(frame[6:12], a.SrcMAC)
	binary.BigEndian.PutUint16(frame[12:], EtherTypeARP)
	arp := frame[14:]
	binary.BigEndian.PutUint16(arp[0:], 1) // hardware type: Ethernet
	binary.BigEndian.PutUint16(arp[2:], EtherTypeIPv4)
	arp[4], arp[5] = 6, 4
	binary.BigEndian.PutUint16(arp[6:], a.Operation)
	s, t := a.SenderIP.As4(), a.TargetIP.As4()
	copy(arp[8:14], a.SenderHW)
	copy(arp[14:18], s[:])
	copy(arp[18:24], targetHW)
	copy(arp[24:28], t[:])
	return frame, nil
}
