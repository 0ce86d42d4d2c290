package packet

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestICMPv4FrameAsGopacket: the ICMP builder writes the bytes gopacket
// serializes for echoes and for an error quoting a datagram, checksum
// included.
func TestICMPv4FrameAsGopacket(t *testing.T) {
	src, dst := netip.MustParseAddr("192.168.0.3"), netip.MustParseAddr("192.168.0.2")
	quotedIP := ip4(layers.IPProtocolUDP)
	quoted := serialize(t, quotedIP, withNet(&layers.UDP{SrcPort: 40000, DstPort: 9}, quotedIP))
	for _, c := range []struct {
		typ, code uint8
		id, seq   uint16
		payload   []byte
	}{
		{ICMPv4EchoRequest, 0, 7, 1, payload(56)},
		{ICMPv4EchoReply, 0, 0xffff, 65535, []byte("odd")},
		{ICMPv4Unreachable, 3, 0, 0, quoted},
	} {
		got, err := ICMPv4Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Type: c.typ, Code: c.code, ID: c.id, Seq: c.seq, Payload: c.payload}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(c.typ, c.code), Id: c.id, Seq: c.seq}
		want := serialize(t, ether(layers.EthernetTypeIPv4), ip, icmp, gopacket.Payload(c.payload))
		if len(want) < minFrame {
			want = append(want, make([]byte, minFrame-len(want))...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("type %d code %d: built\n%x\ngopacket serializes\n%x", c.typ, c.code, got, want)
		}
		p := Decode(got)
		if p.Err != nil || !p.Has(LayerICMPv4) || p.ICMPv4.Type != c.typ || p.ICMPv4.Code != c.code || p.ICMPv4.ID != c.id || p.ICMPv4.Seq != c.seq {
			t.Errorf("type %d code %d: decodes to layers %b, err %v, ICMP %+v", c.typ, c.code, p.Layers, p.Err, p.ICMPv4)
		}
	}
	if _, err := (ICMPv4Frame{SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddr("fd00::3"), Dst: dst}).Bytes(); err == nil {
		t.Error("an IPv6 source was accepted")
	}
}
