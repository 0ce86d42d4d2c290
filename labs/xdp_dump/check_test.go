package xdpdump

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/packet"
)

// sample is a raw perf sample in our layout: the tuple, pkt_len, then
// carried bytes of frame.
func sample(frame []byte, pktLen, carried int) []byte {
	raw := []byte{192, 168, 0, 3, 192, 168, 0, 2, 0xab, 0x86, 0x22, 0xb8}
	raw = binary.NativeEndian.AppendUint32(raw, uint32(pktLen))
	return append(raw, frame[:carried]...)
}

var (
	local  = netip.MustParseAddrPort("192.168.0.3:43910")
	remote = netip.MustParseAddrPort("192.168.0.2:8888")
)

// TestCarriedPacket says exactly what an event carries, from its length
// fields and its bytes: a packet cut short is not "no bytes", and a pkt_len
// of 0 with the packet after it is not either.
func TestCarriedPacket(t *testing.T) {
	syn := tcpFrame(t, &layers.TCP{SYN: true}, nil)
	synAck := tcpFrame(t, &layers.TCP{SYN: true, ACK: true}, nil)
	c := &checker{ex: exercises[""], layout: OurLayout}
	for _, tc := range []struct {
		name            string
		frame           []byte
		pktLen, carried int
		observed        string
		pass            bool
		hint            string // a word the hint must hold when it fails
	}{
		{"the SYN, whole", syn, len(syn), len(syn), "TCP SYN 192.168.0.3:43910 -> 192.168.0.2:8888, 60 bytes", true, ""},
		{"the SYN cut short", syn, len(syn), 40, "a packet cut short: the sample carries 40 of its 60 bytes, the kernel's padding included", false, "the same number"},
		{"no packet", syn, len(syn), 4, "a packet cut short: the sample carries 4 of its 60 bytes, the kernel's padding included", false, "upper 32 bits"},
		{"nothing at all", syn, 0, 0, "no packet bytes after the metadata", false, "upper 32 bits"},
		{"the SYN without its length", syn, 0, len(syn), "pkt_len 0, yet the sample carries 60 bytes after the metadata, up to 7 of them padding", false, "pkt_len is 0"},
		{"more than its length", syn, 20, len(syn), "pkt_len 20, yet the sample carries 60 bytes after the metadata, at most 7 of them padding", false, "same number"},
		{"a SYN-ACK", synAck, len(synAck), len(synAck), "TCP SYN-ACK 192.168.0.3:43910 -> 192.168.0.2:8888, 60 bytes", false, "BPF_F_CURRENT_CPU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, _ := Decode(sample(tc.frame, tc.pktLen, tc.carried), OurLayout)
			r := c.carriedResult("the event carries that SYN packet", &ev, tc.frame, local, remote)
			if r.Observed != tc.observed || r.Pass != tc.pass {
				t.Errorf("observed %q, pass %v; want %q, %v", r.Observed, r.Pass, tc.observed, tc.pass)
			}
			if !r.Pass && !strings.Contains(r.Hint, tc.hint) {
				t.Errorf("hint %q does not say %q", r.Hint, tc.hint)
			}
		})
	}
	// Bytes that are not the packet as it arrived fail, at the first byte
	// that differs.
	other := append([]byte(nil), syn...)
	other[len(other)-1] ^= 0xff
	ev, _ := Decode(sample(syn, len(syn), len(syn)), OurLayout)
	if r := c.carriedResult("x", &ev, other, local, remote); r.Pass || !strings.HasSuffix(r.Observed, "differing from the SYN as it arrived at byte 59") {
		t.Errorf("a packet that differs: %+v", r)
	}
}

// TestTupleHint names what is wrong with a tuple from its values.
func TestTupleHint(t *testing.T) {
	c := &checker{ex: exercises[""]}
	swapped := func(ap netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(ap.Addr(), swap16(ap.Port()))
	}
	backwards := func(ap netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(reversed(ap.Addr()), ap.Port())
	}
	// The frame with IPv4 options (ihl 7) that the check writes: a program
	// that reads the ports 20 bytes after the IPv4 header reads options.
	opts, err := packet.TCPFrame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: local, Dst: remote, Flags: packet.TCPSyn, IPOptions: ipOptions}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	fromOptions := func(ap netip.AddrPort, at int) netip.AddrPort {
		return netip.AddrPortFrom(ap.Addr(), binary.BigEndian.Uint16(opts[14+20+at:]))
	}
	for _, tc := range []struct {
		name     string
		src, dst netip.AddrPort
		frame    []byte
		want     []string
	}{
		{"ports byte-swapped", swapped(local), swapped(remote), nil, []string{"ports arrive byte-swapped (34475 is 43910", "bpf_ntohs", "(TODO 3 in xdp_dump.c)"}},
		{"addresses byte-swapped", backwards(local), backwards(remote), nil, []string{"addresses arrive byte-swapped (3.0.168.192 is 192.168.0.3 backwards)", "bpf_ntohl"}},
		{"everything byte-swapped", backwards(swapped(local)), backwards(swapped(remote)), nil, []string{"ports arrive byte-swapped", "; the addresses arrive byte-swapped"}},
		{"source and destination", remote, local, nil, []string{"source and destination are swapped"}},
		{"addresses exchanged", netip.AddrPortFrom(remote.Addr(), local.Port()), netip.AddrPortFrom(local.Addr(), remote.Port()), nil, []string{"the addresses are swapped"}},
		{"ports from the IP options", fromOptions(local, 0), fromOptions(remote, 2), opts, []string{"read from the IPv4 options", "ip->ihl * 4", "(TODO 1 in xdp_dump.c)"}},
		{"zero ports", netip.AddrPortFrom(local.Addr(), 0), netip.AddrPortFrom(remote.Addr(), 0), nil, []string{"a port is 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Event{Src: tc.src, Dst: tc.dst}
			r := c.tupleResult(&e, local, remote, tc.frame)
			if r.Pass {
				t.Fatalf("passes: %+v", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Hint, w) {
					t.Errorf("hint %q does not say %q", r.Hint, w)
				}
			}
			if !tupleLike(e, local, remote) && tc.frame == nil && !strings.Contains(tc.name, "zero") {
				t.Errorf("tupleLike does not place %s -> %s with %s -> %s", tc.src, tc.dst, local, remote)
			}
		})
	}
	if tupleLike(Event{Src: local, Dst: netip.MustParseAddrPort("192.168.0.9:8888")}, local, remote) {
		t.Error("tupleLike places an event for another destination")
	}
}

// TestHeadersHint names the length a learner computed from the length
// itself, for the frame with options the check writes.
func TestHeadersHint(t *testing.T) {
	frame, err := packet.TCPFrame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: local, Dst: remote, Flags: packet.TCPSyn,
		IPOptions: ipOptions, Options: tcpMSS, Payload: make([]byte, optsPayload)}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	h, ok := headerLens(frame)
	if !ok || h.total() != 66 || h.whole != len(frame) {
		t.Fatalf("headerLens = %+v, %v; want 66 bytes of headers in %d", h, ok, len(frame))
	}
	c := &checker{ex: exercises[stepHeaders], layout: OurLayout}
	for n, want := range map[int]string{
		len(frame): "the whole packet was appended (166 bytes), not only its headers (66)",
		54:         "sizeof(struct iphdr) and sizeof(struct tcphdr) leave the options out",
		62:         "the TCP options were cut",
		58:         "the IPv4 options were cut",
		48:         "tcp->doff counts 32-bit words",
		45:         "ip->ihl counts 32-bit words",
		52:         "the Ethernet header counts too",
		134:        "a fixed 134 bytes",
		70:         "append exactly 14 + ip->ihl * 4 + tcp->doff * 4 bytes",
	} {
		if got := c.headersHint(n, h); !strings.HasPrefix(got, want) || !strings.Contains(got, "(TODO ") {
			t.Errorf("%d bytes: hint %q, want %q... naming its TODO", n, got, want)
		}
	}
	ev, _ := Decode(sample(frame, 66, 66), OurLayout)
	if r := c.headersResult("x", &ev, frame, local, remote); !r.Pass {
		t.Errorf("the headers exactly: %+v", r)
	}
	ev, _ = Decode(sample(frame, len(frame), len(frame)), OurLayout)
	if r := c.headersResult("x", &ev, frame, local, remote); r.Pass || r.Observed != "166 bytes: the whole packet" {
		t.Errorf("the whole packet: %+v", r)
	}
}

// TestMissingHint: a packet that drew no event gets the hint that the
// other events point to.
func TestMissingHint(t *testing.T) {
	for _, tc := range []struct {
		name string
		step string
		ev   evidence
		want string
	}{
		{"nothing at all", "", evidence{}, "no packet drew an event"},
		{"only the swapped EtherType", "", evidence{any: true, other: true}, "bpf_htons(ETH_P_IP) (TODO 1 in xdp_dump.c)"},
		{"some CPUs", "", evidence{any: true, reported: 1, cpusWith: []int{0}, cpusWithout: []int{1}}, "processed on CPU 1 drew no event, those on CPU 0 did: pass BPF_F_CURRENT_CPU"},
		{"the accepted SYN", stepSynAck, evidence{any: true, acceptedSYN: true}, "both tcp->syn and tcp->ack set (TODO 1 in xdp_dump.c)"},
		{"other segments", "", evidence{any: true, segments: true}, "other segments of the connection drew events, its SYN did not"},
		{"no evidence", "", evidence{any: true, reported: 1}, "emit an event for every TCP SYN"},
	} {
		c := &checker{ex: exercises[tc.step]}
		if got := c.missingHint(tc.ev); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q does not say %q", tc.name, got, tc.want)
		}
	}
}

// TestRoute: events are given to the traffic their packet belongs to,
// whichever read took them, and events without a packet by their tuple.
func TestRoute(t *testing.T) {
	syn := tcpFrame(t, &layers.TCP{SYN: true}, nil)
	ack := tcpFrame(t, &layers.TCP{ACK: true}, nil)
	raw, err := packet.TCPFrame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: netip.MustParseAddrPort("192.168.0.3:43911"),
		Dst: netip.MustParseAddrPort("192.168.0.2:8889"), Flags: packet.TCPSyn}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	event := func(frame []byte, src, dst netip.AddrPort) Event {
		return Event{Src: src, Dst: dst, Packet: frame, Len: len(frame), Carried: len(frame)}
	}
	rawFrom, rawTo := netip.MustParseAddrPort("192.168.0.3:43911"), netip.MustParseAddrPort("192.168.0.2:8889")
	c := &checker{ex: exercises[""]}
	c.conn = &connection{from: local, to: remote, events: []Event{event(syn, local, remote)}}
	c.opts = &written{frames: [][]byte{raw}, from: []netip.AddrPort{rawFrom}, to: []netip.AddrPort{rawTo},
		events: []Event{
			event(ack, local, remote), // the connection's late ACK
			event(raw, rawFrom, rawTo),
			// no packet, byte-swapped ports: the connection's by its tuple
			{Src: netip.AddrPortFrom(local.Addr(), swap16(local.Port())), Dst: netip.AddrPortFrom(remote.Addr(), swap16(remote.Port()))},
		}}
	c.other = &written{frames: [][]byte{syn}, events: []Event{event(raw, rawFrom, rawTo)}}
	c.route()
	if len(c.conn.events) != 3 || len(c.opts.events) != 2 || len(c.other.events) != 0 {
		t.Errorf("connection %d events, options frame %d, other %d; want 3, 2, 0", len(c.conn.events), len(c.opts.events), len(c.other.events))
	}
	reported, others := c.split(c.conn.events)
	if len(reported) != 2 || len(others) != 1 {
		t.Errorf("split: %d reported, %d others; want 2 (the SYN, the event without packet) and 1 (the ACK)", len(reported), len(others))
	}
}

// TestVerdictHint: XDP_ABORTED is named with why a program returns it.
func TestVerdictHint(t *testing.T) {
	got := verdictHint(0, "the SYN")
	for _, want := range []string{"returned XDP_ABORTED for the SYN", "BPF_PROG_TEST_RUN", "`return 0`"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q does not say %q", got, want)
		}
	}
	if got := verdictHint(1, "the SYN"); strings.Contains(got, "return 0") || !strings.Contains(got, "XDP_DROP") {
		t.Errorf("XDP_DROP: %q", got)
	}
}
