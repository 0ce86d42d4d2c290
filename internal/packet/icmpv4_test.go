package packet

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestICMPv4Checksum: the ICMP builder writes the bytes gopacket
// serializes for the same headers, checksums included, and Checksum says
// 0 over the IP header and the message it wrote, and not once a byte
// changed.
func TestICMPv4Checksum(t *testing.T) {
	src, dst := netip.MustParseAddr("192.168.0.3"), netip.MustParseAddr("192.168.0.2")
	for _, c := range []struct {
		typ, code uint8
		payload   []byte
	}{
		{ICMPv4EchoRequest, 0, []byte("ping over ipv4, an odd length.")},
		{13, 0, make([]byte, 12)}, // timestamp request
		{ICMPv4EchoReply, 0, nil},
	} {
		got, err := ICMPv4Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Type: c.typ, Code: c.code, ID: 7, Seq: 2, Payload: c.payload}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(c.typ, c.code), Id: 7, Seq: 2}
		want := serialize(t, ether(layers.EthernetTypeIPv4), ip, icmp, gopacket.Payload(c.payload))
		if !bytes.Equal(got, want) {
			t.Errorf("type %d: built\n%x\ngopacket serializes\n%x", c.typ, got, want)
		}
		p := Decode(got)
		if p.Err != nil || !p.Has(LayerICMPv4) || p.ICMPv4.Type != c.typ || p.ICMPv4.ID != 7 || p.ICMPv4.Seq != 2 {
			t.Errorf("type %d: decodes to layers %b, err %v, ICMP %+v", c.typ, p.Layers, p.Err, p.ICMPv4)
		}
		if Checksum(got[14:34]) != 0 || Checksum(p.IPv4.Payload) != 0 {
			t.Errorf("type %d: Checksum is not 0 over the header (%#04x) or the message (%#04x)", c.typ, Checksum(got[14:34]), Checksum(p.IPv4.Payload))
		}
		got[14+20+8-1] ^= 0x10 // the last byte of Seq
		if Checksum(Decode(got).IPv4.Payload) == 0 {
			t.Errorf("type %d: Checksum is 0 over a message with a changed byte", c.typ)
		}
	}
	if _, err := (ICMPv4Frame{SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddr("fd00::3"), Dst: dst}).Bytes(); err == nil {
		t.Error("an IPv6 source was accepted")
	}
}
