package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/xdplab/xdplab/internal/filter"
)

func TestParseActions(t *testing.T) {
	cases := []struct {
		in   string
		want []Action
		err  string
	}{
		{"pass", []Action{Pass}, ""},
		{"drop,pass", []Action{Drop, Pass}, ""},
		{"pass, XDP_DROP,xdpTX,pass", []Action{Drop, Pass, TX}, ""},
		{"aborted,drop,pass,tx,redirect", XDPActions, ""},
		{"pass,bogus", nil, `unknown xdp action "bogus"`},
		{"entry", nil, `unknown xdp action "entry"`},
		{",", nil, "no xdp action"},
	}
	for _, c := range cases {
		got, err := ParseActions(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseActions(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !equal(got, c.want) {
			t.Errorf("ParseActions(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func equal(a, b []Action) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestInterfaceNames: xdpcap's names, so files from either tool look alike.
func TestInterfaceNames(t *testing.T) {
	want := []string{"XDPaborted", "XDPdrop", "XDPpass", "XDPtx", "XDPredirect", "XDPentry"}
	for i, a := range append(XDPActions, Entry) {
		if a.Interface() != want[i] {
			t.Errorf("action %d: %s, want %s", a, a.Interface(), want[i])
		}
	}
}

func TestFormatStats(t *testing.T) {
	got := FormatStats([]Action{Drop, Pass}, map[Action]Stats{Drop: {Received: 5, Matched: 5}, Pass: {Received: 8, Matched: 3, Filtered: 5, Lost: 1}})
	want := "drop: 5/5/0  pass: 8/3/1  (received/matched/lost)"
	if got != want {
		t.Errorf("FormatStats = %q, want %q", got, want)
	}
}

// TestParseMeta reads a sample laid out as the capture program writes it,
// padded as perf pads it.
func TestParseMeta(t *testing.T) {
	sample := make([]byte, metaSize+64+4)
	binary.NativeEndian.PutUint32(sample[0:], uint32(Drop))
	binary.NativeEndian.PutUint32(sample[4:], 1500)
	binary.NativeEndian.PutUint32(sample[8:], 64)
	binary.NativeEndian.PutUint64(sample[16:], 123456789)
	for i := range 64 {
		sample[metaSize+i] = byte(i)
	}
	c := &Capture{clock: clock{offset: 1_000_000_000}}
	p, ok := c.packet(sample)
	if !ok {
		t.Fatal("sample rejected")
	}
	if p.Action != Drop || p.Length != 1500 || len(p.Data) != 64 || p.Data[63] != 63 {
		t.Errorf("packet = %+v", p)
	}
	if got := p.Time.UnixNano(); got != 1_123_456_789 {
		t.Errorf("time = %d, want ktime + offset", got)
	}
	// A cap length past the sample, or past the packet, is refused.
	binary.NativeEndian.PutUint32(sample[8:], 100)
	if _, ok := c.packet(sample); ok {
		t.Error("cap length beyond the sample accepted")
	}
	if _, ok := c.packet(sample[:10]); ok {
		t.Error("short sample accepted")
	}
}

// TestClock: the converted kernel clock lands on the wall clock.
func TestClock(t *testing.T) {
	c := newClock()
	got := c.wall(uint64(monotonicNow()))
	// Generous bounds: a wrong base (boot time, seconds vs nanoseconds) is
	// off by far more; scheduling on a loaded machine is not.
	if d := time.Since(got); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("monotonic now converts to %v, %v from the wall clock", got, d)
	}
}

// TestCaptureProgramBuilds translates filters into capture programs without
// loading them: labels resolve, the filter block is in.
func TestCaptureProgramBuilds(t *testing.T) {
	for _, expr := range []string{"", "icmp", "udp port 9", "tcp[tcpflags] & tcp-syn != 0", "greater 90"} {
		insns, err := filter.Compile(expr, Snaplen)
		if err != nil {
			t.Fatal(err)
		}
		for _, maps := range []programMaps{{counters: 3, events: 4}, {counters: 3, events: 4, next: 5}} {
			spec, err := captureProgram("xdpcap_test", Pass, insns, maps)
			if err == nil {
				err = spec.Instructions.Marshal(io.Discard, binary.LittleEndian)
			}
			if err != nil {
				t.Errorf("filter %q: %v", expr, err)
			}
		}
	}
}

func ethFrame(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

func udpFrame(t testing.TB, dport layers.UDPPort) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 168, 0, 3}, DstIP: net.IP{192, 168, 0, 2}}
	udp := &layers.UDP{SrcPort: 40000, DstPort: dport}
	udp.SetNetworkLayerForChecksum(ip)
	return ethFrame(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, udp, gopacket.Payload(make([]byte, 18)))
}

func TestSummary(t *testing.T) {
	at := time.Date(2026, 1, 2, 12, 0, 1, 123456000, time.Local)
	icmpIP := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.IP{192, 168, 0, 3}, DstIP: net.IP{192, 168, 0, 2}}
	icmp := ethFrame(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, icmpIP,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1}, gopacket.Payload(make([]byte, 56)))
	arp := ethFrame(t, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: []byte{192, 168, 0, 3},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 168, 0, 2}})
	cases := []struct {
		p    Packet
		want string
	}{
		{Packet{Action: Drop, Time: at, Length: 60, Data: udpFrame(t, 9)}, "12:00:01.123456 XDPdrop     60 bytes 192.168.0.3.40000 > 192.168.0.2.9: UDP, length 18"},
		{Packet{Action: Pass, Time: at, Length: 98, Data: icmp}, "12:00:01.123456 XDPpass     98 bytes 192.168.0.3 > 192.168.0.2: ICMP echo request, id 7, seq 1"},
		{Packet{Action: Entry, Time: at, Length: 42, Data: arp}, "12:00:01.123456 XDPentry    42 bytes ARP, Request who-has 192.168.0.2 tell 192.168.0.3"},
	}
	for _, c := range cases {
		if got := Summary(c.p); got != c.want {
			t.Errorf("Summary =\n  %q\nwant\n  %q", got, c.want)
		}
	}
}

// TestPcapngRoundTrip writes a file and reads it back with gopacket's own
// pcapng reader: one interface per action, xdpcap's names, the packets
// under the right interface with their lengths and times.
func TestPcapngRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapngWriter(&buf, []Action{Entry, Drop, Pass}, "udp", false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_700_000_000, 123456789)
	f9, f7 := udpFrame(t, 9), udpFrame(t, 7777)
	for _, p := range []Packet{
		{Action: Entry, Time: at, Length: len(f9), Data: f9},
		{Action: Drop, Time: at.Add(time.Microsecond), Length: len(f9), Data: f9},
		{Action: Pass, Time: at.Add(time.Millisecond), Length: len(f7) + 100, Data: f7},
	} {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WritePacket(Packet{Action: TX, Data: f9, Length: len(f9)}); err == nil {
		t.Error("a packet of an action without an interface was written")
	}
	if err := w.Close(map[Action]Stats{Drop: {Received: 1}, Pass: {Received: 1}}); err != nil {
		t.Fatal(err)
	}

	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		iface  string
		length int
		data   []byte
		ts     time.Time
	}
	var packets []got
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		intf, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatal(err)
		}
		if intf.LinkType != layers.LinkTypeEthernet || intf.Filter != "udp" {
			t.Errorf("interface %s: link type %v, filter %q", intf.Name, intf.LinkType, intf.Filter)
		}
		packets = append(packets, got{intf.Name, ci.Length, data, ci.Timestamp})
	}
	if r.NInterfaces() != 3 {
		t.Errorf("%d interfaces, want 3", r.NInterfaces())
	}
	want := []got{{"XDPentry", len(f9), f9, at}, {"XDPdrop", len(f9), f9, at.Add(time.Microsecond)}, {"XDPpass", len(f7) + 100, f7, at.Add(time.Millisecond)}}
	if len(packets) != len(want) {
		t.Fatalf("read %d packets, want %d", len(packets), len(want))
	}
	for i, w := range want {
		p := packets[i]
		if p.iface != w.iface || p.length != w.length || !bytes.Equal(p.data, w.data) || !p.ts.Equal(w.ts) {
			t.Errorf("packet %d: %s len %d at %v, want %s len %d at %v", i, p.iface, p.length, p.ts, w.iface, w.length, w.ts)
		}
	}
}
