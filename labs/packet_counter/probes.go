package packetcounter

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/topology"
)

// Probes are frames the check writes raw from the sender that the program
// must pass and must not count: a learner's EtherType test, or bounds check,
// that lets any of them through to the counters is wrong, and which one got
// through says how.

// probeKind says which part of the program a probe tests.
type probeKind int

const (
	// probeOther is a frame of another EtherType (ARP, and IPv6 before the
	// ipv6 step): counted, it was read as IPv4 without looking at h_proto.
	probeOther probeKind = iota
	// probeSwapped has the IP EtherType with its two bytes swapped:
	// counted, the program compares h_proto without bpf_htons.
	probeSwapped
	// probeCut has the IP EtherType and a header one byte short: counted,
	// the program's bounds check does not cover the whole header.
	probeCut
	// probeVLAN is an 802.1Q-tagged IPv4 packet: the tutorial's program
	// passes it uncounted; a program that parses the tag may count it
	// under its inner protocol, never under anything else.
	probeVLAN
)

// probe is one such frame.
type probe struct {
	what      string // "an ARP request", as the expectations name it
	kind      probeKind
	ipv6      bool   // it tests the IPv6 part of the program
	etherType uint16 // the EtherType on the wire, for the witness
	frame     []byte
	// inner is the protocol a VLAN-aware program counts a probeVLAN under.
	inner uint32
}

// vlanID tags the 802.1Q probe; no interface of the lab has a VLAN.
const vlanID = 10

// probeIPID is the IPv4 identification of the IPv4 probes: its low byte,
// 0xfe, is what a program that reads ip->protocol 4 bytes too early (at
// offset 14 of a tagged frame) counts under, a key no other probe moves.
const probeIPID = 0x78fe

// probes builds the frames for a step: every step gets ARP, the
// byte-swapped and cut IPv4 frames and the tagged one; IPv6 is a probe
// until the ipv6 step counts it, which then gets the IPv6 forms instead.
func probes(sender, dut topology.Place, ipv6 bool) ([]probe, error) {
	udp4, err := packet.UDPFrame{SrcMAC: sender.MAC, DstMAC: dut.MAC,
		Src: netip.AddrPortFrom(sender.Addr.Addr(), probeSrcPort), Dst: netip.AddrPortFrom(dut.Addr.Addr(), udpPort),
		Payload: make([]byte, udpPayload)}.Bytes()
	if err != nil {
		return nil, fmt.Errorf("build probe frame: %w", err)
	}
	setIPv4ID(udp4[14:], probeIPID)
	echo6, err := packet.ICMPv6Echo{SrcMAC: sender.MAC, DstMAC: dut.MAC, Src: hostIPv6, Dst: node1IPv6,
		ID: echoID6, Seq: 100, Payload: make([]byte, 56)}.Bytes()
	if err != nil {
		return nil, fmt.Errorf("build probe frame: %w", err)
	}
	out := []probe{{what: "an ARP request", kind: probeOther, etherType: packet.EtherTypeARP, frame: arpRequest(sender)}}
	if !ipv6 {
		out = append(out, probe{what: "an IPv6 packet", kind: probeOther, etherType: packet.EtherTypeIPv6, frame: echo6})
	}
	out = append(out,
		probe{what: "an IPv4 packet under EtherType 0x0008 (0x0800 byte-swapped)", kind: probeSwapped,
			etherType: 0x0008, frame: withEtherType(udp4, 0x0008)},
		probe{what: "an IPv4 header cut short (19 of 20 bytes)", kind: probeCut,
			etherType: packet.EtherTypeIPv4, frame: udp4[:14+19]},
		probe{what: "an 802.1Q-tagged IPv4 packet", kind: probeVLAN,
			etherType: packet.EtherTypeDot1Q, frame: tagged(udp4, vlanID), inner: protoUDP},
	)
	if ipv6 {
		out = append(out,
			probe{what: "an IPv6 packet under EtherType 0xdd86 (0x86dd byte-swapped)", kind: probeSwapped, ipv6: true,
				etherType: 0xdd86, frame: withEtherType(echo6, 0xdd86)},
			probe{what: "an IPv6 header cut short (39 of 40 bytes)", kind: probeCut, ipv6: true,
				etherType: packet.EtherTypeIPv6, frame: echo6[:14+39]},
		)
	}
	return out, nil
}

// arpRequest is a gratuitous ARP request from the sender (who has my own
// address?): it changes no neighbour table but the one entry it confirms.
func arpRequest(sender topology.Place) []byte {
	f := make([]byte, 14+28)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], sender.MAC)
	binary.BigEndian.PutUint16(f[12:], packet.EtherTypeARP)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1) // Ethernet
	binary.BigEndian.PutUint16(a[2:], packet.EtherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], packet.ARPRequest)
	addr := sender.Addr.Addr().As4()
	copy(a[8:14], sender.MAC)
	copy(a[14:18], addr[:])
	copy(a[24:28], addr[:]) // the target hardware address stays zero
	return f
}

// withEtherType is a copy of frame with another EtherType.
func withEtherType(frame []byte, etherType uint16) []byte {
	f := append([]byte(nil), frame...)
	binary.BigEndian.PutUint16(f[12:], etherType)
	return f
}

// tagged is a copy of frame with an 802.1Q tag of vid after the addresses.
func tagged(frame []byte, vid uint16) []byte {
	f := make([]byte, 0, len(frame)+4)
	f = append(f, frame[:12]...)
	f = binary.BigEndian.AppendUint16(f, packet.EtherTypeDot1Q)
	f = binary.BigEndian.AppendUint16(f, vid)
	return append(f, frame[12:]...)
}

// setIPv4ID sets an IPv4 header's identification and its checksum again.
func setIPv4ID(ip []byte, id uint16) {
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[10:], 0)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
}
