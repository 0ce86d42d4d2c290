package packet

import (
	"bytes"
	"net/netip"
	"strings"
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

// TestICMPv4FrameOptions: IP options go between the fixed IPv4 header and
// the ICMP message, ihl and the header checksum count them (gopacket
// serializes the same bytes), and options that ihl cannot count are
// refused.
func TestICMPv4FrameOptions(t *testing.T) {
	src, dst := netip.MustParseAddr("192.168.0.3"), netip.MustParseAddr("192.168.0.2")
	opts := []byte{1, 1, 1, 0} // three NOPs, end of list
	got, err := ICMPv4Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Type: ICMPv4EchoRequest, ID: 7, Seq: 1,
		IPOptions: opts, Payload: payload(56)}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(),
		Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(ICMPv4EchoRequest, 0), Id: 7, Seq: 1}
	want := serialize(t, ether(layers.EthernetTypeIPv4), ip, icmp, gopacket.Payload(payload(56)))
	if !bytes.Equal(got, want) {
		t.Errorf("built\n%x\ngopacket serializes\n%x", got, want)
	}
	if p := Decode(got); p.Err != nil || !p.Has(LayerICMPv4) || p.ICMPv4.Type != ICMPv4EchoRequest || p.ICMPv4.ID != 7 {
		t.Errorf("decodes to layers %b, err %v, ICMP %+v", p.Layers, p.Err, p.ICMPv4)
	}
	for _, bad := range [][]byte{{1, 1, 0}, make([]byte, 44)} {
		_, err := ICMPv4Frame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, IPOptions: bad}.Bytes()
		if err == nil || !strings.Contains(err.Error(), "want up to 40, in whole 32-bit words") {
			t.Errorf("%d bytes of options: error %v", len(bad), err)
		}
	}
}
