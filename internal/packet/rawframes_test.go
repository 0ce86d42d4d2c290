package packet

import (
	"bytes"
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
