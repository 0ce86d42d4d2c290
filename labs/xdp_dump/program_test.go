package xdpdump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
	"github.com/xdplab/xdplab/topology/topotest"
)

var (
	srcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	dstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

func ipv4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto,
		SrcIP: net.IP{192, 168, 0, 3}, DstIP: net.IP{192, 168, 0, 2}}
}

// tcpFrame is host -> node1:8888 with the given flags set on tcp.
func tcpFrame(t testing.TB, tcp *layers.TCP, payload []byte) []byte {
	ip := ipv4(layers.IPProtocolTCP)
	tcp.SrcPort, tcp.DstPort, tcp.Window = 43910, 8888, 64240
	tcp.SetNetworkLayerForChecksum(ip)
	return testutils.Serialize(t, &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4},
		ip, tcp, gopacket.Payload(payload))
}

func loadForTest(t testing.TB) *xdpDumpObjects {
	t.Helper()
	var objs xdpDumpObjects
	if err := loadXdpDumpObjects(&objs, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objs.Close() })
	return &objs
}

// withReader loads a collection and opens a reader on its perfmap, both
// closed when the test ends.
func withReader(t testing.TB, spec *ebpf.CollectionSpec) (*ebpf.Collection, *perf.Reader) {
	t.Helper()
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coll.Close() })
	rd, err := perf.NewReader(coll.Maps[mapName], os.Getpagesize())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return coll, rd
}

// readAll takes every event already in the rings.
func readAll(t testing.TB, rd *perf.Reader) []Event {
	t.Helper()
	var events []Event
	for {
		rd.SetDeadline(time.Now())
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return events
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.LostSamples > 0 {
			t.Fatalf("%d samples lost", rec.LostSamples)
		}
		ev, err := Decode(rec.RawSample, OurLayout)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
}

// TestProgram runs xdp_dump on crafted frames with BPF_PROG_TEST_RUN (which
// writes to the real perf rings): only an IPv4 TCP SYN without ACK yields an
// event, with its tuple and the whole frame; every frame passes.
func TestProgram(t *testing.T) {
	testutils.RequirePrivileged(t)
	objs := loadForTest(t)
	rd, err := perf.NewReader(objs.Perfmap, os.Getpagesize())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	syn := tcpFrame(t, &layers.TCP{SYN: true, Seq: 1000}, nil)
	// An IPv4 header with a 4-byte option (ihl 6): the TCP header moves.
	optIP := ipv4(layers.IPProtocolTCP)
	optIP.IHL = 6
	optIP.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
	optTCP := &layers.TCP{SrcPort: 43911, DstPort: 8888, SYN: true, Window: 64240}
	optTCP.SetNetworkLayerForChecksum(optIP)
	synWithOptions := testutils.Serialize(t, &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}, optIP, optTCP)
	if synWithOptions[14]&0x0f != 6 {
		t.Fatalf("ihl = %d, want 6", synWithOptions[14]&0x0f)
	}
	// A later fragment whose first payload bytes look like a SYN header.
	frag := bytes.Clone(syn)
	binary.BigEndian.PutUint16(frag[14+6:], 185) // fragment offset 185*8
	frag[14+10], frag[14+11] = 0, 0              // checksum is not what XDP looks at

	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
		SrcIP: net.ParseIP("fd00::3"), DstIP: net.ParseIP("fd00::2")}
	tcp6 := &layers.TCP{SrcPort: 43910, DstPort: 8888, SYN: true, Window: 64240}
	tcp6.SetNetworkLayerForChecksum(ip6)
	ipv6SYN := testutils.Serialize(t, &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv6}, ip6, tcp6)

	udpIP := ipv4(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 43910, DstPort: 8888}
	udp.SetNetworkLayerForChecksum(udpIP)
	udpFrame := testutils.Serialize(t, &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4},
		udpIP, udp, gopacket.Payload(make([]byte, 32)))
	arp := testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: srcMAC, SourceProtAddress: []byte{192, 168, 0, 3},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 168, 0, 2}})

	cases := []struct {
		name   string
		frame  []byte
		report bool
		sport  uint16
	}{
		{"syn", syn, true, 43910},
		{"syn with ip options", synWithOptions, true, 43911},
		{"syn with payload", tcpFrame(t, &layers.TCP{SYN: true}, []byte("fast open")), true, 43910},
		{"syn-ack", tcpFrame(t, &layers.TCP{SYN: true, ACK: true}, nil), false, 0},
		{"ack", tcpFrame(t, &layers.TCP{ACK: true}, nil), false, 0},
		{"data", tcpFrame(t, &layers.TCP{ACK: true, PSH: true}, []byte("hello xdplab\n")), false, 0},
		{"fin", tcpFrame(t, &layers.TCP{FIN: true, ACK: true}, nil), false, 0},
		{"rst", tcpFrame(t, &layers.TCP{RST: true}, nil), false, 0},
		{"later fragment", frag, false, 0},
		{"tcp header cut short", syn[:14+20+12], false, 0},
		{"ip header cut short", syn[:14+10], false, 0},
		{"udp", udpFrame, false, 0},
		{"ipv6 syn", ipv6SYN, false, 0},
		{"arp", arp, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ret, err := objs.XdpDump.Run(&ebpf.RunOptions{Data: c.frame})
			if err != nil {
				t.Fatal(err)
			}
			if ret != 2 {
				t.Errorf("returned %d, want XDP_PASS (2)", ret)
			}
			events := readAll(t, rd)
			if !c.report {
				if len(events) != 0 {
					t.Fatalf("%d events, want none: %+v", len(events), events)
				}
				return
			}
			if len(events) != 1 {
				t.Fatalf("%d events, want 1", len(events))
			}
			ev := events[0]
			wantSrc := netip.MustParseAddrPort("192.168.0.3:0")
			if ev.Src != netip.AddrPortFrom(wantSrc.Addr(), c.sport) || ev.Dst != netip.MustParseAddrPort("192.168.0.2:8888") {
				t.Errorf("tuple %s -> %s, want 192.168.0.3:%d -> 192.168.0.2:8888", ev.Src, ev.Dst, c.sport)
			}
			if !bytes.Equal(ev.Packet, c.frame) {
				t.Errorf("packet bytes differ from the frame:\n%x\n%x", ev.Packet, c.frame)
			}
			if f := packet.Decode(ev.Packet); f.Err != nil || !exercises[""].reports(&f) {
				t.Errorf("packet decodes as %s (%v), want a SYN", f.Summary(), f.Err)
			}
		})
	}
}

// TestStepPrograms runs each step's program on crafted frames with
// BPF_PROG_TEST_RUN: syn_ack reports SYN-ACKs only, with their tuple and
// whole frame; headers reports SYNs with exactly their headers, options
// included, and records that length in pkt_len. Every frame passes.
func TestStepPrograms(t *testing.T) {
	testutils.RequirePrivileged(t)
	from, to := netip.MustParseAddrPort("192.168.0.3:43910"), netip.MustParseAddrPort("192.168.0.2:8888")
	frame := func(flags uint8, ipOpts, tcpOpts []byte, payload int) []byte {
		f, err := packet.TCPFrame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: from, Dst: to, Flags: flags, Seq: 1, Window: 64240,
			IPOptions: ipOpts, Options: tcpOpts, Payload: make([]byte, payload)}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	synAck, ack := uint8(packet.TCPSyn|packet.TCPAck), uint8(packet.TCPAck)
	for _, step := range []struct {
		name  string
		load  func() (*ebpf.CollectionSpec, error)
		cases []struct {
			name   string
			frame  []byte
			report int // the bytes an event must carry; 0: no event
		}
	}{
		{stepSynAck, loadXdpDumpSynAck, []struct {
			name   string
			frame  []byte
			report int
		}{
			{"syn-ack", frame(synAck, nil, nil, 0), 60},
			{"syn-ack with options", frame(synAck, ipOptions, tcpMSS, 0), 14 + 28 + 24},
			{"syn", frame(packet.TCPSyn, nil, nil, 0), 0},
			{"ack", frame(ack, nil, nil, 0), 0},
			{"fin-ack", frame(packet.TCPFin|packet.TCPAck, nil, nil, 0), 0},
		}},
		{stepHeaders, loadXdpDumpHeaders, []struct {
			name   string
			frame  []byte
			report int
		}{
			{"syn", frame(packet.TCPSyn, nil, nil, 0), 54},
			{"syn with options and data", frame(packet.TCPSyn, ipOptions, tcpMSS, optsPayload), 14 + 28 + 24},
			{"syn with 40 bytes of tcp options", frame(packet.TCPSyn, nil, make([]byte, 40), 0), 14 + 20 + 60},
			{"syn-ack", frame(synAck, nil, nil, 0), 0},
			{"ack with data", frame(ack, nil, nil, 200), 0},
			// doff says 40 bytes of options the packet does not have
			{"options past the end", frame(packet.TCPSyn, nil, make([]byte, 40), 0)[:14+20+30], 0},
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			spec, err := step.load()
			if err != nil {
				t.Fatal(err)
			}
			coll, rd := withReader(t, spec)
			for _, c := range step.cases {
				t.Run(c.name, func(t *testing.T) {
					ret, err := coll.Programs[progName].Run(&ebpf.RunOptions{Data: c.frame})
					if err != nil || ret != 2 {
						t.Fatalf("returned %d (%v), want XDP_PASS (2)", ret, err)
					}
					events := readAll(t, rd)
					if c.report == 0 {
						if len(events) != 0 {
							t.Fatalf("%d events, want none", len(events))
						}
						return
					}
					if len(events) != 1 {
						t.Fatalf("%d events, want 1", len(events))
					}
					ev := events[0]
					if ev.Src != from || ev.Dst != to {
						t.Errorf("tuple %s -> %s, want %s -> %s", ev.Src, ev.Dst, from, to)
					}
					if ev.Len != c.report || !bytes.Equal(ev.Packet, c.frame[:c.report]) {
						t.Errorf("event carries %d bytes (pkt_len %d), want the frame's first %d", len(ev.Packet), ev.Len, c.report)
					}
				})
			}
		})
	}
}

// TestTutorialObjectProgram runs the tutorial-style object (12-byte item, no
// length) and checks that Decode finds the packet's end from the IPv4 header
// although the sample is padded.
func TestTutorialObjectProgram(t *testing.T) {
	testutils.RequirePrivileged(t)
	spec, err := ebpf.LoadCollectionSpec("testdata/xdp_dump_tutorial.o")
	if err != nil {
		t.Fatal(err)
	}
	if got := LayoutOf(spec); got != TutorialLayout {
		t.Fatalf("LayoutOf(tutorial object) = %+v, want %+v", got, TutorialLayout)
	}
	coll, rd := withReader(t, spec)
	syn := tcpFrame(t, &layers.TCP{SYN: true}, nil)
	if _, err := coll.Programs[progName].Run(&ebpf.RunOptions{Data: syn}); err != nil {
		t.Fatal(err)
	}
	rd.SetDeadline(time.Now())
	rec, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	// 12 + 60 bytes, padded by the kernel to 76 (a multiple of 8, minus the
	// 4-byte size field).
	if len(rec.RawSample) <= 12+len(syn) {
		t.Errorf("sample is %d bytes: expected kernel padding beyond %d", len(rec.RawSample), 12+len(syn))
	}
	ev, err := Decode(rec.RawSample, TutorialLayout)
	if err != nil {
		t.Fatal(err)
	}
	// gopacket pads the frame to Ethernet's 60-byte minimum; the IPv4 header
	// knows only the 54 bytes that carry the packet.
	if want := syn[:14+20+20]; !bytes.Equal(ev.Packet, want) {
		t.Errorf("packet = %x, want %x", ev.Packet, want)
	}
}

func TestLayoutOfEmbedded(t *testing.T) {
	spec, err := loadXdpDump()
	if err != nil {
		t.Fatal(err)
	}
	if got := LayoutOf(spec); got != OurLayout || OurLayout.Header != 16 {
		t.Errorf("LayoutOf(embedded) = %+v, want a 16-byte header with pkt_len", got)
	}
}

func TestDecode(t *testing.T) {
	frame := make([]byte, 60)
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	binary.BigEndian.PutUint16(frame[16:], 40) // IPv4 total length: frame is 54 bytes
	meta := []byte{192, 168, 0, 3, 192, 168, 0, 2, 0xab, 0x86, 0x22, 0xb8}
	pad := []byte{0xee, 0xee, 0xee, 0xee}

	ours := append(append(append(bytes.Clone(meta), 54, 0, 0, 0), frame[:54]...), pad...)
	ev, err := Decode(ours, OurLayout)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Src.String() != "192.168.0.3:43910" || ev.Dst.String() != "192.168.0.2:8888" {
		t.Errorf("tuple %s -> %s", ev.Src, ev.Dst)
	}
	if len(ev.Packet) != 54 {
		t.Errorf("packet is %d bytes, want 54 (padding sliced off)", len(ev.Packet))
	}

	tut := append(append(bytes.Clone(meta), frame[:54]...), pad...)
	if ev, err := Decode(tut, TutorialLayout); err != nil || len(ev.Packet) != 54 {
		t.Errorf("tutorial layout: %d bytes, %v; want 54", len(ev.Packet), err)
	}
	// Without a packet (the tutorial's first version) the event is just the tuple.
	if ev, err := Decode(meta, TutorialLayout); err != nil || len(ev.Packet) != 0 || ev.Dst.Port() != 8888 {
		t.Errorf("tuple only: %+v, %v", ev, err)
	}

	if _, err := Decode(meta[:8], OurLayout); !errors.Is(err, errShortSample) {
		t.Errorf("short sample: %v, want errShortSample", err)
	}
	// A sample cut short keeps what it carries, as evidence of what the
	// program appended.
	lying := append(append(bytes.Clone(meta), 200, 0, 0, 0), frame[:54]...)
	if ev, err := Decode(lying, OurLayout); err == nil || !strings.Contains(err.Error(), "says 200 packet bytes but carries 54") ||
		ev.Len != 200 || len(ev.Packet) != 54 {
		t.Errorf("pkt_len beyond the sample: %d of %d bytes, %v", len(ev.Packet), ev.Len, err)
	}
	cut := append(bytes.Clone(meta), frame[:40]...)
	if ev, err := Decode(cut, TutorialLayout); err == nil || ev.Len != 54 || len(ev.Packet) != 40 {
		t.Errorf("tutorial layout cut short: %d of %d bytes, %v", len(ev.Packet), ev.Len, err)
	}
	// A VLAN tag moves the IPv4 header; its total length still ends the packet.
	tagged := append(append(bytes.Clone(frame[:12]), 0x81, 0x00, 0x00, 0x2a), frame[12:54]...)
	tut = append(append(bytes.Clone(meta), tagged...), pad...)
	if ev, err := Decode(tut, TutorialLayout); err != nil || len(ev.Packet) != 58 {
		t.Errorf("tutorial layout, tagged frame: %d bytes, %v; want 58", len(ev.Packet), err)
	}
}

func TestFormat(t *testing.T) {
	ev := Event{
		Src:    netip.MustParseAddrPort("192.168.0.3:43910"),
		Dst:    netip.MustParseAddrPort("192.168.0.2:8888"),
		Packet: []byte("0123456789abcdefXY"),
	}
	want := "TCP: 192.168.0.3:43910 -> 192.168.0.2:8888\n" +
		"00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n" +
		"00000010  58 59                                             |XY|\n\n"
	if got := ev.Format(); got != want {
		t.Errorf("Format =\n%q\nwant\n%q", got, want)
	}
	if got := (Event{Src: ev.Src, Dst: ev.Dst}).Format(); got != "TCP: 192.168.0.3:43910 -> 192.168.0.2:8888\n" {
		t.Errorf("Format without packet = %q", got)
	}
	wantSummary := "\nSummary:\n\t3 Event(s) Received\n\t1 Event(s) Lost(e.g. small buffer, delays in processing)\n"
	if got := Summary(3, 1); got != wantSummary {
		t.Errorf("Summary = %q, want %q", got, wantSummary)
	}
}

// BenchmarkProgram reports the program's cost per packet: "segment" is the
// common case (an established connection's data, no event), "syn" includes
// writing the event and packet into a perf ring nobody drains, so once the
// ring is full it measures the attempt.
func BenchmarkProgram(b *testing.B) {
	testutils.RequirePrivileged(b)
	objs := loadForTest(b)
	rd, err := perf.NewReader(objs.Perfmap, os.Getpagesize())
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	for _, c := range []struct {
		name  string
		frame []byte
	}{
		{"segment", tcpFrame(b, &layers.TCP{ACK: true, PSH: true}, make([]byte, 64))},
		{"syn", tcpFrame(b, &layers.TCP{SYN: true}, nil)},
	} {
		b.Run(c.name, func(b *testing.B) {
			// Benchmark is BPF_PROG_TEST_RUN with RunOptions.Repeat; it
			// returns the kernel's time per repetition.
			const repeat = 1_000_000
			var total float64
			for b.Loop() {
				ret, d, err := objs.XdpDump.Benchmark(c.frame, repeat, nil)
				if err != nil || ret != 2 {
					b.Fatalf("run: %d, %v", ret, err)
				}
				total += float64(d.Nanoseconds())
			}
			b.ReportMetric(total/float64(b.N), "ns/packet")
		})
	}
}

// TestProgramLayout reads the event layout from the BTF the kernel holds
// for an attached program, as check does in a bare lab. A libbpf loader
// (ip link ... xdp obj) hands the kernel the object's whole BTF: the
// layout is read from it. cilium/ebpf hands over only the types the
// program uses, without perf_event_item: the lab's layout is assumed.
func TestProgramLayout(t *testing.T) {
	testutils.RequireTool(t, "ip")
	d := topotest.Deploy(t, topology.Pair(), labName)
	dut := d.MustRole("dut")
	for _, c := range []struct {
		obj  string
		want Layout
	}{
		{"bpf_bpfel.o", OurLayout},
		{"testdata/correct/base/load_bytes.o", TutorialLayout},
		{"testdata/correct/headers/load_bytes.o", OurLayout},
	} {
		out, err := exec.Command("ip", "-n", dut.NS.Name, "-force", "link", "set", "dev", dut.Iface, "xdpgeneric", "obj", c.obj, "sec", "xdp").CombinedOutput()
		if err != nil {
			t.Fatalf("attach %s with ip: %v\n%s", c.obj, err, out)
		}
		p, ok, err := attached.XDP(dut.NS, dut.Iface)
		if err != nil || !ok {
			t.Fatalf("%s: attached %+v, %v, %v", c.obj, p, ok, err)
		}
		if got, ok := programLayout(p.ID); !ok || got != c.want {
			t.Errorf("%s loaded by ip: layout %+v, %v; want %+v", c.obj, got, ok, c.want)
		}
	}
	spec, err := loadXdpDump()
	if err != nil {
		t.Fatal(err)
	}
	coll, _ := withReader(t, spec)
	info, err := coll.Programs[progName].Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	if got, ok := programLayout(id); ok {
		t.Errorf("loaded by cilium/ebpf: layout %+v found; want none, the type is not handed to the kernel", got)
	}
	env := &labs.Env{Attached: &labs.Attached{Points: []labs.AttachedPoint{{Program: &attached.Program{ID: id}}}}}
	if got := attachedLayout(env); got != OurLayout {
		t.Errorf("attachedLayout without the type = %+v, want the lab's", got)
	}
}
