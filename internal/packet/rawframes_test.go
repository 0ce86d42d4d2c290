package packet

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestIPv4FrameAsGopacket: the IPv4 builder writes the bytes gopacket
// serializes for the same header and payload, for a protocol it has no
// layer for.
func TestIPv4FrameAsGopacket(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	payload := bytes.Repeat([]byte{0xab}, 46)
	got, err := IPv4Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Protocol: 255, Payload: payload}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocol(255), SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	want := serialize(t, ether(layers.EthernetTypeIPv4), ip, gopacket.Payload(payload))
	if !bytes.Equal(got, want) {
		t.Errorf("built\n%x\ngopacket serializes\n%x", got, want)
	}
	if p := Decode(got); p.Err != nil || !p.Has(LayerIPv4) || p.IPv4.Protocol != 255 || p.IPv4.Src != src {
		t.Errorf("decodes to layers %b, err %v, IPv4 %+v", p.Layers, p.Err, p.IPv4)
	}
	if _, err := (IPv4Frame{SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddr("fd00::1"), Dst: dst}).Bytes(); err == nil {
		t.Error("an IPv6 source was accepted")
	}
}

// TestARPFrameAsGopacket: the ARP builder writes the bytes gopacket
// serializes, padded to the shortest Ethernet frame.
func TestARPFrameAsGopacket(t *testing.T) {
	sender, target := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	got, err := ARPFrame{SrcMAC: macA, DstMAC: macB, Operation: ARPRequest, SenderHW: macA, TargetHW: zero, SenderIP: sender, TargetIP: target}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: sender.AsSlice(), DstHwAddress: zero, DstProtAddress: target.AsSlice()}
	want := serialize(t, ether(layers.EthernetTypeARP), arp)
	want = append(want, make([]byte, minFrame-len(want))...)
	if !bytes.Equal(got, want) {
		t.Errorf("built\n%x\ngopacket serializes\n%x", got, want)
	}
	if p := Decode(got); p.Err != nil || !p.Has(LayerARP) || p.ARP.Operation != ARPRequest || !bytes.Equal(p.ARP.SenderProto, sender.AsSlice()) {
		t.Errorf("decodes to layers %b, err %v, ARP %+v", p.Layers, p.Err, p.ARP)
	}
	if _, err := (ARPFrame{SrcMAC: macA[:3], DstMAC: macB, SenderHW: macA, TargetHW: zero, SenderIP: sender, TargetIP: target}).Bytes(); err == nil {
		t.Error("a short mac was accepted")
	}
}
