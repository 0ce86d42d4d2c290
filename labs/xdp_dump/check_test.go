package xdpdump

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/labs"
)

// sample is a raw perf sample in our layout: the tuple, pkt_len, then
// carried bytes of frame.
func sample(frame []byte, pktLen, carried int) []byte {
	raw := []byte{192, 168, 0, 3, 192, 168, 0, 2, 0xab, 0x86, 0x22, 0xb8}
	raw = binary.NativeEndian.AppendUint32(raw, uint32(pktLen))
	return append(raw, frame[:carried]...)
}

// TestTCPResults judges the events of one connection from their packets, and
// says exactly what an event carries: a packet cut short is not "no bytes".
func TestTCPResults(t *testing.T) {
	local := netip.MustParseAddrPort("192.168.0.3:43910")
	remote := netip.MustParseAddrPort("192.168.0.2:8888")
	syn := tcpFrame(t, &layers.TCP{SYN: true}, nil)
	synAck := tcpFrame(t, &layers.TCP{SYN: true, ACK: true}, nil)
	event := func(frame []byte, pktLen, carried int) Event {
		ev, _ := Decode(sample(frame, pktLen, carried), OurLayout)
		return ev
	}
	for _, c := range []struct {
		name    string
		events  []Event
		syns    string // observed of "one event for the SYN"
		packet  string // observed of "the event carries that SYN packet"
		carries bool
		others  string
	}{
		{"the SYN, whole", []Event{event(syn, len(syn), len(syn))}, "1",
			"TCP SYN 192.168.0.3:43910 -> 192.168.0.2:8888, 60 bytes", true, "0"},
		{"the SYN cut short", []Event{event(syn, len(syn), 40)}, "1",
			"a packet cut short: the sample carries 40 of its 60 bytes, the kernel's padding included", false, "0"},
		{"no packet", []Event{event(syn, 0, 0)}, "1", "no packet bytes after the metadata", false, "0"},
		{"the SYN without its length", []Event{event(syn, 0, len(syn))}, "1",
			"pkt_len 0, yet the sample carries 60 bytes after the metadata, up to 7 of them padding", false, "0"},
		{"a SYN-ACK only", []Event{event(synAck, len(synAck), len(synAck))}, "0", "no event", false, "1"},
		{"the SYN and a SYN-ACK", []Event{event(synAck, len(synAck), len(synAck)), event(syn, len(syn), len(syn))}, "1",
			"TCP SYN 192.168.0.3:43910 -> 192.168.0.2:8888, 60 bytes", true, "1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs := tcpResults(c.events, local, remote)
			if len(rs) != 3 {
				t.Fatalf("%d results, want 3: %+v", len(rs), rs)
			}
			want := []labs.Result{
				{Name: "one event for the SYN 192.168.0.3:43910 -> 192.168.0.2:8888", Expected: "1", Observed: c.syns},
				{Name: "the event carries that SYN packet", Expected: "TCP SYN 192.168.0.3:43910 -> 192.168.0.2:8888", Observed: c.packet},
				{Name: "no event for the connection's ACK, data and FIN segments", Expected: "0", Observed: c.others},
			}
			want[0].Pass = c.syns == "1"
			want[1].Pass = c.carries
			want[2].Pass = c.others == "0"
			for i, r := range rs {
				if r.Name != want[i].Name || r.Expected != want[i].Expected || r.Observed != want[i].Observed || r.Pass != want[i].Pass {
					t.Errorf("got  %+v\nwant %+v", r, want[i])
				}
				if !r.Pass && r.Hint == "" {
					t.Errorf("%q fails without a hint", r.Name)
				}
			}
		})
	}
}
