package packet

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestICMPv4EchoAsGopacket: the echo builder writes the bytes gopacket
// serializes for the same headers, checksums included (none over a
// pseudo-header), requests and replies alike.
func TestICMPv4EchoAsGopacket(t *testing.T) {
	src, dst := netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("192.168.0.3")
	for _, reply := range []bool{false, true} {
		got, err := ICMPv4Echo{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Reply: reply, ID: 0x786c, Seq: 3, Payload: payload(56)}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		typ := uint8(layers.ICMPv4TypeEchoRequest)
		if reply {
			typ = layers.ICMPv4TypeEchoReply
		}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		want := serialize(t, ether(layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 0x786c, Seq: 3}, payload(56))
		if !bytes.Equal(got, want) {
			t.Errorf("reply %v: built\n%x\ngopacket serializes\n%x", reply, got, want)
		}
		p := Decode(got)
		if p.Err != nil || !p.Has(LayerICMPv4) || p.ICMPv4.Type != typ || p.ICMPv4.ID != 0x786c || p.ICMPv4.Seq != 3 {
			t.Errorf("reply %v: decodes to layers %b, err %v, ICMP %+v", reply, p.Layers, p.Err, p.ICMPv4)
		}
	}
	if _, err := (ICMPv4Echo{SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddr("fd00::3"), Dst: dst}).Bytes(); err == nil {
		t.Error("an IPv6 source was accepted")
	}
}

// TestARPFrameAsGopacket: the ARP builder writes what gopacket serializes,
// padded to the Ethernet minimum as a NIC would.
func TestARPFrameAsGopacket(t *testing.T) {
	a, b := netip.MustParseAddr("192.168.0.3"), netip.MustParseAddr("192.168.0.2")
	for _, c := range []struct {
		op       uint16
		dst, tha []byte
	}{
		{ARPRequest, Broadcast, nil},
		{ARPReply, macB, macB},
	} {
		got, err := ARPFrame{SrcMAC: macA, DstMAC: c.dst, Operation: c.op, SenderHW: macA, SenderIP: a, TargetHW: c.tha, TargetIP: b}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		tha := c.tha
		if tha == nil {
			tha = make([]byte, 6)
		}
		want := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: c.dst, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: c.op, SourceHwAddress: macA, SourceProtAddress: a.AsSlice(), DstHwAddress: tha, DstProtAddress: b.AsSlice()},
			gopacket.Payload(make([]byte, 60-42)))
		if !bytes.Equal(got, want) {
			t.Errorf("op %d: built\n%x\ngopacket serializes\n%x", c.op, got, want)
		}
		if p := Decode(got); p.Err != nil || !p.Has(LayerARP) || p.ARP.Operation != c.op {
			t.Errorf("op %d: decodes to layers %b, err %v, ARP %+v", c.op, p.Layers, p.Err, p.ARP)
		}
	}
	for name, f := range map[string]ARPFrame{
		"short mac":     {SrcMAC: macA[:4], DstMAC: Broadcast, SenderHW: macA, SenderIP: a, TargetIP: b},
		"ipv6 target":   {SrcMAC: macA, DstMAC: Broadcast, SenderHW: macA, SenderIP: a, TargetIP: netip.MustParseAddr("fd00::2")},
		"no sender mac": {SrcMAC: macA, DstMAC: Broadcast, SenderIP: a, TargetIP: b},
	} {
		if _, err := f.Bytes(); err == nil {
			t.Errorf("%s: built, want an error", name)
		}
	}
}
