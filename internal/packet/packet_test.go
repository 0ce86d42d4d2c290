package packet

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func TestDecodeAgreesWithGopacket(t *testing.T) {
	fs := corpus(t)
	fs = append(fs, truncations(fs)...)
	for _, f := range fs {
		for _, d := range disagreements(f.data) {
			t.Errorf("%s: %s", f.name, d)
		}
	}
}

func TestSummaryAsBefore(t *testing.T) {
	fs := corpus(t)
	fs = append(fs, truncations(fs)...)
	compared := 0
	for _, f := range fs {
		want, ok := wantSummary(f.data)
		if !ok {
			continue
		}
		compared++
		p := Decode(f.data)
		if got := p.Summary(); got != want {
			t.Errorf("%s: Summary() = %q, want %q", f.name, got, want)
		}
	}
	if compared < len(fs)*9/10 {
		t.Errorf("only %d of %d frames compared", compared, len(fs))
	}
}

func TestSummary(t *testing.T) {
	for name, want := range map[string]string{
		"udp 18":                        "192.168.0.3.40000 > 192.168.0.2.9: UDP, length 18",
		"icmp 8/0":                      "192.168.0.3 > 192.168.0.2: ICMP echo request, id 7, seq 1",
		"icmp 0/0":                      "192.168.0.3 > 192.168.0.2: ICMP echo reply, id 7, seq 1",
		"icmp 3/3":                      "192.168.0.3 > 192.168.0.2: ICMP unreachable",
		"icmp 11/0":                     "192.168.0.3 > 192.168.0.2: ICMP timeexceeded(ttlexceeded)",
		"icmp 42/3":                     "192.168.0.3 > 192.168.0.2: ICMP 42(3)",
		"icmp 4/1":                      "192.168.0.3 > 192.168.0.2: ICMP sourcequench(code: 1)",
		"tcp syn":                       "192.168.0.3.43910 > 192.168.0.2.8888: Flags [S], seq 3735928559, length 0",
		"tcp psh ack data":              "192.168.0.3.43910 > 192.168.0.2.8888: Flags [P.], seq 3735928559, length 15",
		"tcp all flags":                 "192.168.0.3.43910 > 192.168.0.2.8888: Flags [FSRPU.], seq 3735928559, length 3",
		"arp request":                   "ARP, Request who-has 192.168.0.2 tell 192.168.0.3",
		"arp reply":                     "ARP, Reply 192.168.0.3 is-at 02:00:00:00:00:01",
		"vlan udp":                      "192.168.0.3.40000 > 192.168.0.2.9: UDP, length 12",
		"vlan ip6":                      "ethertype Dot1Q (0x8100)",
		"ip6 tcp syn":                   "ethertype IPv6 (0x86dd)",
		"udp fragment 185":              "192.168.0.3 > 192.168.0.2: UDP",
		"ip proto 2":                    "192.168.0.3 > 192.168.0.2: IGMP",
		"ip proto 200":                  "192.168.0.3 > 192.168.0.2: UnknownIPProtocol",
		"ethertype 0x1234":              "ethertype UnknownEthernetType (0x1234)",
		"802.3 length":                  "ethertype LLC (0x0000)",
		"ihl 0":                         "192.168.0.3 > 192.168.0.2: UDP",
		"arp 2-byte protocol addresses": "ARP",
		"empty":                         "not an Ethernet frame",
	} {
		var data []byte
		found := false
		for _, f := range corpus(t) {
			if f.name == name {
				data, found = f.data, true
			}
		}
		if !found {
			t.Fatalf("no frame %q", name)
		}
		p := Decode(data)
		if got := p.Summary(); got != want {
			t.Errorf("%s: Summary() = %q, want %q", name, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	p := Decode(nil)
	if !errors.Is(p.Err, ErrTruncated) || p.Layers != 0 {
		t.Errorf("Decode(nil) = layers %b, err %v; want nothing, ErrTruncated", p.Layers, p.Err)
	}
	syn := Decode(mustFrame(t, "tcp syn")[:50])
	if !errors.Is(syn.Err, ErrTruncated) || !syn.Has(LayerEthernet|LayerIPv4) || syn.Has(LayerTCP) {
		t.Errorf("a SYN cut in its TCP header: layers %b, err %v", syn.Layers, syn.Err)
	}
	// A header whose fixed part is there but whose lengths contradict each
	// other is decoded, with the error, and nothing after it is.
	ihl := Decode(mustFrame(t, "ihl 0"))
	if ihl.Err == nil || errors.Is(ihl.Err, ErrTruncated) || !ihl.Has(LayerIPv4) || ihl.Has(LayerUDP) || ihl.IPv4.Src != netip.MustParseAddr("192.168.0.3") {
		t.Errorf("IHL 0: layers %b, err %v, %+v", ihl.Layers, ihl.Err, ihl.IPv4)
	}
	// A frame that ends where a header should start is truncated there.
	eth := Decode(mustFrame(t, "udp 18")[:14])
	if !errors.Is(eth.Err, ErrTruncated) || eth.Layers != LayerEthernet {
		t.Errorf("Ethernet header only: layers %b, err %v", eth.Layers, eth.Err)
	}
}

func mustFrame(tb testing.TB, name string) []byte {
	tb.Helper()
	for _, f := range corpus(tb) {
		if f.name == name {
			return f.data
		}
	}
	tb.Fatalf("no frame %q", name)
	return nil
}

// TestTCPFrameAsGopacket: the builder writes the bytes gopacket serializes
// for the same headers, checksums included.
func TestTCPFrameAsGopacket(t *testing.T) {
	for _, c := range []struct {
		src, dst netip.AddrPort
		flags    uint8
		payload  []byte
	}{
		{netip.MustParseAddrPort("[fd00::3]:43910"), netip.MustParseAddrPort("[fd00::2]:8888"), TCPSyn, nil},
		{netip.MustParseAddrPort("[fd00::3]:43910"), netip.MustParseAddrPort("[2001:db8::ffff]:80"), TCPPsh | TCPAck, []byte("hello")},
		{netip.MustParseAddrPort("192.168.0.3:43910"), netip.MustParseAddrPort("192.168.0.2:8888"), TCPSyn, nil},
		{netip.MustParseAddrPort("192.168.0.3:1"), netip.MustParseAddrPort("10.255.255.254:65535"), TCPFin | TCPAck, []byte("odd")},
		{netip.MustParseAddrPort("192.168.0.3:1"), netip.MustParseAddrPort("10.255.255.254:65535"), TCPAck, bytes.Repeat([]byte{0xff}, 1401)},
	} {
		tf := TCPFrame{SrcMAC: macA, DstMAC: macB, Src: c.src, Dst: c.dst, Seq: 1, Ack: 7, Flags: c.flags, Window: 64240, Payload: c.payload}
		got, err := tf.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(c.src.Port()), DstPort: layers.TCPPort(c.dst.Port()), Seq: 1, Ack: 7, Window: 64240,
			FIN: c.flags&TCPFin != 0, SYN: c.flags&TCPSyn != 0, PSH: c.flags&TCPPsh != 0, ACK: c.flags&TCPAck != 0}
		var want []byte
		if c.src.Addr().Is4() {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: c.src.Addr().AsSlice(), DstIP: c.dst.Addr().AsSlice()}
			want = serialize(t, ether(layers.EthernetTypeIPv4), ip, withNet(tcp, ip), gopacket.Payload(c.payload))
		} else {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: c.src.Addr().AsSlice(), DstIP: c.dst.Addr().AsSlice()}
			want = serialize(t, ether(layers.EthernetTypeIPv6), ip, withNet(tcp, ip), gopacket.Payload(c.payload))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v -> %v: built\n%x\ngopacket serializes\n%x", c.src, c.dst, got, want)
		}
		p := Decode(got)
		if p.Err != nil || !p.Has(LayerTCP) || p.TCP.Flags != c.flags || !bytes.Equal(p.TCP.Payload, c.payload) {
			t.Errorf("%v -> %v: decodes to layers %b, err %v, TCP %+v", c.src, c.dst, p.Layers, p.Err, p.TCP)
		}
	}
}

// TestTCPFrameOptionsAsGopacket: TCP and IPv4 options go where the header
// lengths say, as gopacket serializes them, checksums included.
func TestTCPFrameOptionsAsGopacket(t *testing.T) {
	src, dst := netip.MustParseAddrPort("192.168.0.3:43911"), netip.MustParseAddrPort("192.168.0.2:8889")
	ipOpts := []byte{1, 1, 1, 0}        // NOP, NOP, NOP, end of options
	tcpOpts := []byte{2, 4, 0x05, 0xb4} // MSS 1460
	payload := bytes.Repeat([]byte{0xab}, 100)
	got, err := TCPFrame{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Seq: 1, Flags: TCPSyn, Window: 64240,
		Options: tcpOpts, IPOptions: ipOpts, Payload: payload}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(),
		Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}
	tcp := &layers.TCP{SrcPort: 43911, DstPort: 8889, Seq: 1, SYN: true, Window: 64240,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}}
	want := serialize(t, ether(layers.EthernetTypeIPv4), ip, withNet(tcp, ip), gopacket.Payload(payload))
	if !bytes.Equal(got, want) {
		t.Errorf("built\n%x\ngopacket serializes\n%x", got, want)
	}
	p := Decode(got)
	if p.Err != nil || p.IPv4.IHL != 6 || p.TCP.DataOffset != 6 || !bytes.Equal(p.TCP.Options, tcpOpts) || !bytes.Equal(p.TCP.Payload, payload) {
		t.Errorf("decodes to layers %b, err %v, IPv4 %+v, TCP %+v", p.Layers, p.Err, p.IPv4, p.TCP)
	}
	for name, tf := range map[string]TCPFrame{
		"tcp options not in words": {SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, Options: []byte{1}},
		"ip options too long":      {SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, IPOptions: make([]byte, 44)},
		"ip options over ipv6": {SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddrPort("[fd00::3]:1"),
			Dst: netip.MustParseAddrPort("[fd00::2]:2"), IPOptions: ipOpts},
	} {
		if b, err := tf.Bytes(); err == nil {
			t.Errorf("%s: built %d bytes, want an error", name, len(b))
		}
	}
}

// TestUDPFrameAsGopacket: the UDP builder writes the bytes gopacket
// serializes for the same headers, checksums included, over both versions.
func TestUDPFrameAsGopacket(t *testing.T) {
	for _, c := range []struct {
		src, dst netip.AddrPort
		payload  []byte
	}{
		{netip.MustParseAddrPort("[fd00::3]:5000"), netip.MustParseAddrPort("[fd00::2]:9"), []byte("hello xdplab")},
		{netip.MustParseAddrPort("[fd00::3]:1"), netip.MustParseAddrPort("[fd00::2]:2"), nil},
		{netip.MustParseAddrPort("192.168.0.3:5000"), netip.MustParseAddrPort("192.168.0.2:9"), bytes.Repeat([]byte{7}, 33)},
	} {
		got, err := UDPFrame{SrcMAC: macA, DstMAC: macB, Src: c.src, Dst: c.dst, Payload: c.payload}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		udp := &layers.UDP{SrcPort: layers.UDPPort(c.src.Port()), DstPort: layers.UDPPort(c.dst.Port())}
		var want []byte
		if c.src.Addr().Is4() {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: c.src.Addr().AsSlice(), DstIP: c.dst.Addr().AsSlice()}
			want = serialize(t, ether(layers.EthernetTypeIPv4), ip, withNet(udp, ip), gopacket.Payload(c.payload))
		} else {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: c.src.Addr().AsSlice(), DstIP: c.dst.Addr().AsSlice()}
			want = serialize(t, ether(layers.EthernetTypeIPv6), ip, withNet(udp, ip), gopacket.Payload(c.payload))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v -> %v: built\n%x\ngopacket serializes\n%x", c.src, c.dst, got, want)
		}
		if p := Decode(got); p.Err != nil || !p.Has(LayerUDP) || p.UDP.DstPort != c.dst.Port() {
			t.Errorf("%v -> %v: decodes to layers %b, err %v, UDP %+v", c.src, c.dst, p.Layers, p.Err, p.UDP)
		}
	}
}

// TestICMPv6EchoAsGopacket: the echo request builder writes the bytes
// gopacket serializes, checksum included.
func TestICMPv6EchoAsGopacket(t *testing.T) {
	src, dst := netip.MustParseAddr("fd00::3"), netip.MustParseAddr("fd00::2")
	payload := []byte("ping over ipv6, 56 bytes or so..")
	got, err := ICMPv6Echo{SrcMAC: macA, DstMAC: macB, Src: src, Dst: dst, ID: 7, Seq: 2, Payload: payload}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	icmp.SetNetworkLayerForChecksum(ip)
	want := serialize(t, ether(layers.EthernetTypeIPv6), ip, icmp, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 2}, gopacket.Payload(payload))
	if !bytes.Equal(got, want) {
		t.Errorf("built\n%x\ngopacket serializes\n%x", got, want)
	}
	if p := Decode(got); p.Err != nil || !p.Has(LayerICMPv6) {
		t.Errorf("decodes to layers %b, err %v", p.Layers, p.Err)
	}
	if _, err := (ICMPv6Echo{SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddr("192.168.0.3"), Dst: dst}).Bytes(); err == nil {
		t.Error("an IPv4 source was accepted")
	}
}

func TestTCPFrameRefuses(t *testing.T) {
	v4, v6 := netip.MustParseAddrPort("192.168.0.3:1"), netip.MustParseAddrPort("[fd00::2]:2")
	for name, tf := range map[string]TCPFrame{
		"mixed families":   {SrcMAC: macA, DstMAC: macB, Src: v4, Dst: v6},
		"no addresses":     {SrcMAC: macA, DstMAC: macB},
		"short mac":        {SrcMAC: macA[:4], DstMAC: macB, Src: v4, Dst: v4},
		"payload too long": {SrcMAC: macA, DstMAC: macB, Src: v4, Dst: v4, Payload: make([]byte, 70000)},
	} {
		if b, err := tf.Bytes(); err == nil {
			t.Errorf("%s: built %d bytes, want an error", name, len(b))
		}
	}
}

// FuzzDecode: Decode never panics, agrees with gopacket on every field it
// decodes when gopacket decodes the frame without error, and Summary says
// what capture printed with gopacket.
func FuzzDecode(f *testing.F) {
	for _, fr := range corpus(f) {
		f.Add(fr.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Decode(data)
		got := p.Summary()
		for _, d := range disagreements(data) {
			t.Error(d)
		}
		if want, ok := wantSummary(data); ok && got != want {
			t.Errorf("Summary() = %q, want %q", got, want)
		}
	})
}

func BenchmarkDecodeSummary(b *testing.B) {
	data := mustFrame(b, "udp 18")
	for b.Loop() {
		p := Decode(data)
		_ = p.Summary()
	}
}
