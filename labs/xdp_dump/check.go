package xdpdump

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/cilium/ebpf/perf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Traffic the check sends from the sender to node1.
const (
	tcpPort   = 8888
	udpPort   = 9 // discard: nothing listens there but the check's sink
	datagrams = 3
	// v6Port is the source port of the raw IPv6 SYN.
	v6Port = 43910
)

// IPv6 is off in the lab's namespaces, so these addresses belong to no
// interface: the IPv6 SYN only has to look like one to the program.
var (
	hostIPv6  = netip.MustParseAddr("fd00::3")
	node1IPv6 = netip.MustParseAddr("fd00::2")
)

// Check opens a perf reader first, then makes one TCP exchange, sends UDP
// datagrams and writes an IPv6 SYN from the sender to node1, and compares
// the events with what was sent.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	layout, err := eventLayout(env)
	if err != nil {
		return nil, err
	}
	// The reader must exist before the SYN is sent: the program's output goes
	// nowhere while the perf map has no rings.
	rd, err := openReader(env)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var results []labs.Result
	var lost uint64

	// 1. One TCP connection: exactly one event, for its SYN. The last ACK of
	// its close may still be on its way to node1 when the exchange returns,
	// so the rings must stay quiet a moment.
	ex, err := grade.TCPExchange(ctx, sender, dut, tcpPort, []byte("hello xdp_dump\n"))
	if err != nil {
		return nil, err
	}
	results = append(results, grade.TCPExchanged(fmt.Sprintf("TCP connect %s -> %s succeeds", sender.Node, ex.Dst), ex,
		"xdp_dump only watches: it must return XDP_PASS for every packet, or the handshake never completes"))
	tcpEvents, n, err := collect(ctx, rd, layout, grade.Quiet)
	lost += n
	if err != nil {
		return results, err
	}

	// 2. UDP datagrams: no event. The sink has them only after XDP passed
	// them, and the program writes its event before passing, so whatever
	// the rings hold then is all there will be.
	sent, err := grade.Datagrams(ctx, sender, dut, udpPort, datagrams, 32)
	if err != nil {
		return results, err
	}
	arrived := grade.DatagramsArrived("", sent, "xdp_dump only watches: it must return XDP_PASS for UDP too")
	udpEvents, n, err := collect(ctx, rd, layout, 0)
	lost += n
	if err != nil {
		return results, err
	}

	// 3. A TCP SYN over IPv6: no event. IPv6 is off in the namespaces, so the
	// frame is written raw by the sender and witnessed on node1, where a
	// packet socket sees it right after XDP passed it.
	seen, err := sendIPv6SYN(ctx, sender, dut)
	if err != nil {
		return results, err
	}
	v6Events, n, err := collect(ctx, rd, layout, 0)
	lost += n
	if err != nil {
		return results, err
	}

	// Without a connection its SYN cannot be told from its retransmissions,
	// so its events are not judged; the rest of the check still is.
	if ex.Local.IsValid() {
		// A late segment of the connection is the connection's, whenever it came.
		mine := func(e Event) bool { return e.Src == ex.Local && e.Dst == ex.Dst }
		conns, rest := split(udpEvents, mine)
		tcpEvents, udpEvents = append(tcpEvents, conns...), rest
		conns, rest = split(v6Events, mine)
		tcpEvents, v6Events = append(tcpEvents, conns...), rest
		results = append(results, tcpResults(tcpEvents, ex.Local, ex.Dst)...)
	}
	results = append(results, arrived)

	udpObserved := fmt.Sprint(len(udpEvents))
	if len(udpEvents) > 0 {
		udpObserved += " (" + tuples(udpEvents) + ")"
	}
	results = append(results, labs.Assert(
		fmt.Sprintf("no event for %d UDP datagrams %s -> %s", datagrams, sender.Node, sent.Dst),
		len(udpEvents) == 0, "0", udpObserved,
		"check ip->protocol == IPPROTO_TCP before treating the bytes after the IP header as TCP, and pass everything"))
	v6Observed := fmt.Sprint(len(v6Events))
	if !seen {
		v6Observed = fmt.Sprintf("the frame never got past XDP on %s/%s", dut.Node, dut.Iface)
	}
	results = append(results, labs.Assert(
		fmt.Sprintf("no event for an IPv6 TCP SYN %s -> %s", netip.AddrPortFrom(hostIPv6, v6Port), netip.AddrPortFrom(node1IPv6, tcpPort)),
		seen && len(v6Events) == 0, "0", v6Observed,
		"check eth->h_proto == bpf_htons(ETH_P_IP) first: an IPv6 header has no saddr/daddr where IPv4 has them; pass what you do not report"))
	results = append(results, grade.ExactCount("no event is lost", 0, lost,
		"the kernel dropped events because a ring was full: a reader must keep up; report SYNs only, not every packet"))
	return results, nil
}

// tcpResults judges the events of the check's connection: one for its SYN,
// carrying the SYN itself, none for its later segments.
func tcpResults(events []Event, local, remote netip.AddrPort) []labs.Result {
	var syns, others []Event
	for _, e := range events {
		if f := packet.Decode(e.Packet); f.Has(packet.LayerIPv4|packet.LayerTCP) && !isSYN(&f) {
			others = append(others, e)
		} else {
			syns = append(syns, e) // a SYN, or bytes that hold no TCP header: judged below
		}
	}
	hint := "a connection sends one SYN: emit only when tcp->syn is set and tcp->ack is clear, never for its other segments"
	if len(syns) == 0 {
		hint = "emit an event when tcp->syn is set and tcp->ack is clear, with saddr, daddr and the ports copied from the headers as they are (network byte order)"
	}
	var results []labs.Result
	results = append(results, grade.ExactCount(fmt.Sprintf("one event for the SYN %s -> %s", local, remote), 1, len(syns), hint))

	want := fmt.Sprintf("TCP SYN %s -> %s", local, remote)
	observed, ok := "no event", false
	if len(syns) > 0 {
		observed, ok = carriedPacket(syns[0], local, remote)
	}
	results = append(results, labs.Assert("the event carries that SYN packet", ok, want, observed,
		"pass BPF_F_CURRENT_CPU | (len << 32) as flags, len = data_end - data, so the kernel appends the packet; record len in perf_event_item.pkt_len"))

	results = append(results, grade.ExactCount("no event for the connection's ACK, data and FIN segments", 0, len(others),
		"only a SYN without ACK opens a connection: the SYN-ACK and every later segment have the ACK flag set"))
	return results
}

// carriedPacket describes the packet an event carries and whether it is the SYN
// from local to remote, whole.
func carriedPacket(e Event, local, remote netip.AddrPort) (string, bool) {
	f := packet.Decode(e.Packet)
	// The kernel pads a sample to 8 bytes, so what it carries beyond the
	// length it gives cannot be told apart from padding more exactly.
	switch {
	case e.Len > e.Carried:
		return fmt.Sprintf("a packet cut short: the sample carries %d of its %d bytes, the kernel's padding included", e.Carried, e.Len), false
	case e.Len == 0 && e.Carried >= 8:
		return fmt.Sprintf("pkt_len 0, yet the sample carries %d bytes after the metadata, up to 7 of them padding", e.Carried), false
	case len(e.Packet) == 0:
		return "no packet bytes after the metadata", false
	case f.Err != nil:
		return fmt.Sprintf("%d bytes that do not decode: %v", len(e.Packet), f.Err), false
	case !f.Has(packet.LayerIPv4 | packet.LayerTCP):
		return fmt.Sprintf("%d bytes of %s", len(e.Packet), f.Summary()), false
	}
	src := netip.AddrPortFrom(f.IPv4.Src, f.TCP.SrcPort)
	dst := netip.AddrPortFrom(f.IPv4.Dst, f.TCP.DstPort)
	var flags []string
	if f.TCP.Flags&packet.TCPSyn != 0 {
		flags = append(flags, "SYN")
	}
	if f.TCP.Flags&packet.TCPAck != 0 {
		flags = append(flags, "ACK")
	}
	if len(flags) == 0 {
		flags = append(flags, "no SYN")
	}
	observed := fmt.Sprintf("TCP %s %s -> %s, %d bytes", strings.Join(flags, ""), src, dst, len(e.Packet))
	return observed, isSYN(&f) && src == local && dst == remote
}

// isSYN reports whether a decoded frame is a connection request: SYN set,
// ACK clear.
func isSYN(f *packet.Frame) bool {
	return f.Has(packet.LayerTCP) && f.TCP.Flags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn
}

// sendIPv6SYN writes an IPv6 TCP SYN from the sender's interface to the
// dut's and reports whether it arrived there past XDP: what the program
// must not report, as it reports IPv4 only.
func sendIPv6SYN(ctx context.Context, sender, dut topology.Place) (bool, error) {
	frame, err := packet.TCPFrame{
		SrcMAC: sender.MAC, DstMAC: dut.MAC,
		Src: netip.AddrPortFrom(hostIPv6, v6Port), Dst: netip.AddrPortFrom(node1IPv6, tcpPort),
		Flags: packet.TCPSyn, Seq: 1, Window: 64240,
	}.Bytes()
	if err != nil {
		return false, fmt.Errorf("build ipv6 frame: %w", err)
	}
	// Packet sockets are served after XDP, so once the frame arrived the
	// program has run on it and any event it wrote is in the ring.
	w, err := grade.Frames(ctx, sender, dut, "an IPv6 TCP SYN", packet.EtherTypeIPv6, [][]byte{frame})
	if err != nil {
		return false, err
	}
	return w.Arrived == 1, w.Failure
}

// collect reads events until the rings have stayed empty for quiet; with
// quiet 0 it takes only what is already there.
func collect(ctx context.Context, rd *perf.Reader, layout Layout, quiet time.Duration) ([]Event, uint64, error) {
	var events []Event
	var lost uint64
	for {
		if err := ctx.Err(); err != nil {
			return events, lost, err
		}
		rd.SetDeadline(time.Now().Add(quiet))
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return events, lost, nil
		}
		if err != nil {
			return events, lost, fmt.Errorf("read perf events: %w", err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			continue
		}
		// A sample that does not decode whole still counts as an event: its
		// packet is judged, with what it does carry, by the check.
		ev, _ := Decode(rec.RawSample, layout)
		events = append(events, ev)
	}
}

func split(events []Event, keep func(Event) bool) (matched, rest []Event) {
	for _, e := range events {
		if keep(e) {
			matched = append(matched, e)
		} else {
			rest = append(rest, e)
		}
	}
	return matched, rest
}

func tuples(events []Event) string {
	var s []string
	for _, e := range events {
		s = append(s, fmt.Sprintf("%s -> %s", e.Src, e.Dst))
	}
	return strings.Join(s, ", ")
}
