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
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
)

// Traffic the check sends.
const (
	datagrams = 3
	// settle is how long the rings must stay empty after the TCP exchange: the
	// last ACK of the close may still be on its way to node1 when the client
	// returns. Everything else is witnessed on arrival and needs no wait.
	settle = 250 * time.Millisecond
	// arrival bounds the wait for a frame to show up in node1.
	arrival = 2 * time.Second
)

// Check opens a perf reader first, then sends one TCP connection, UDP
// datagrams and an IPv6 SYN from host to node1, and compares the events with
// what was sent.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	host, node1 := env.Topo.MustNS("host"), env.Topo.MustNS("node1")
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

	// 1. One TCP connection: exactly one event, for its SYN.
	ln, err := traffic.ListenTCP(node1, tcpTarget)
	if err != nil {
		return nil, err
	}
	conn, cerr := traffic.TCPConnect(ctx, host, tcpTarget, []byte("hello xdp_dump\n"))
	ln.Close()
	observed := "connected"
	if cerr != nil {
		observed = cerr.Error()
	}
	results = append(results, labs.Assert("TCP connect host -> 192.168.0.2:8888 succeeds", cerr == nil, "connected", observed,
		"xdp_dump only watches: it must return XDP_PASS for every packet, or the handshake never completes"))
	if cerr != nil {
		return results, nil
	}
	tcpEvents, n, err := collect(ctx, rd, layout, settle)
	lost += n
	if err != nil {
		return results, err
	}

	// 2. UDP datagrams: no event. The sink has them only after XDP passed
	// them, and the program writes its event before passing, so whatever
	// the rings hold then is all there will be.
	sink, err := traffic.ListenUDP(node1, udpTarget)
	if err != nil {
		return results, err
	}
	uerr := traffic.UDP(ctx, host, udpTarget, datagrams, 32)
	if uerr == nil {
		wctx, cancel := context.WithTimeout(ctx, arrival)
		uerr = sink.Wait(wctx, datagrams)
		cancel()
	}
	got := sink.Count()
	sink.Close()
	udpEvents, n, err := collect(ctx, rd, layout, 0)
	lost += n
	if err != nil {
		return results, err
	}

	// 3. A TCP SYN over IPv6: no event. IPv6 is off in the namespaces, so the
	// frame is written raw on host/veth0 and witnessed on node1/veth1, where a
	// packet socket sees it right after XDP passed it.
	seen, err := sendIPv6SYN(ctx, env)
	if err != nil {
		return results, err
	}
	v6Events, n, err := collect(ctx, rd, layout, 0)
	lost += n
	if err != nil {
		return results, err
	}

	// A late segment of the connection is the connection's, whenever it came.
	local := netip.AddrPortFrom(conn.Local.Addr().Unmap(), conn.Local.Port())
	mine := func(e Event) bool { return e.Src == local && e.Dst == tcpTarget }
	conns, udpEvents := split(udpEvents, mine)
	tcpEvents = append(tcpEvents, conns...)
	conns, v6Events = split(v6Events, mine)
	tcpEvents = append(tcpEvents, conns...)

	results = append(results, tcpResults(tcpEvents, local)...)
	udpObserved := fmt.Sprint(len(udpEvents))
	if len(udpEvents) > 0 {
		udpObserved += " (" + tuples(udpEvents) + ")"
	}
	if got < datagrams {
		udpObserved += fmt.Sprintf("; only %d of %d datagrams reached node1 (%v)", got, datagrams, uerr)
	}
	results = append(results, labs.Assert(
		fmt.Sprintf("no event for %d UDP datagrams host -> %s", datagrams, udpTarget),
		len(udpEvents) == 0 && got == datagrams, "0", udpObserved,
		"check ip->protocol == IPPROTO_TCP before treating the bytes after the IP header as TCP, and pass everything"))
	v6Observed := fmt.Sprint(len(v6Events))
	if !seen {
		v6Observed = "the frame never got past XDP on node1/veth1"
	}
	results = append(results, labs.Assert(
		fmt.Sprintf("no event for an IPv6 TCP SYN [%s]:43910 -> %s", hostIPv6, ipv6Target),
		seen && len(v6Events) == 0, "0", v6Observed,
		"check eth->h_proto == bpf_htons(ETH_P_IP) first: an IPv6 header has no saddr/daddr where IPv4 has them; pass what you do not report"))
	results = append(results, labs.Expect("no event is lost", 0, lost,
		"the kernel dropped events because a ring was full: a reader must keep up; report SYNs only, not every packet"))
	return results, nil
}

// tcpResults judges the events of the check's connection: one for its SYN,
// carrying the SYN itself, none for its later segments.
func tcpResults(events []Event, local netip.AddrPort) []labs.Result {
	var syns, others []Event
	for _, e := range events {
		if p, err := parseTCP(e.Packet); err == nil && !(p.syn && !p.ack) {
			others = append(others, e)
		} else {
			syns = append(syns, e) // a SYN, or bytes we cannot read: judged below
		}
	}
	name := fmt.Sprintf("one event for the SYN %s -> %s", local, tcpTarget)
	observed := fmt.Sprint(len(syns))
	hint := "a connection sends one SYN: emit only when tcp->syn is set and tcp->ack is clear, never for its other segments"
	if len(syns) == 0 {
		hint = "emit an event when tcp->syn is set and tcp->ack is clear, with saddr, daddr and the ports copied from the headers as they are (network byte order)"
	}
	var results []labs.Result
	results = append(results, labs.Assert(name, len(syns) == 1, "1", observed, hint))

	pkt := "no event"
	ok := false
	if len(syns) > 0 {
		p, err := parseTCP(syns[0].Packet)
		switch {
		case len(syns[0].Packet) == 0:
			pkt = "no packet bytes after the metadata"
		case err != nil:
			pkt = fmt.Sprintf("%d bytes that do not decode: %v", len(syns[0].Packet), err)
		default:
			pkt = p.String()
			ok = p.syn && !p.ack && p.src == local && p.dst == tcpTarget
		}
	}
	results = append(results, labs.Assert("the event carries that SYN packet", ok,
		fmt.Sprintf("TCP SYN %s -> %s", local, tcpTarget), pkt,
		"pass BPF_F_CURRENT_CPU | (len << 32) as flags, len = data_end - data, so the kernel appends the packet; record len in perf_event_item.pkt_len"))

	results = append(results, labs.Expect("no event for the connection's ACK, data and FIN segments", 0, len(others),
		"only a SYN without ACK opens a connection: the SYN-ACK and every later segment have the ACK flag set"))
	return results
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
		// An undecodable sample still counts as an event: its packet is
		// judged (and found missing) by the check.
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

// tcpPacket is what the check reads back from an event's packet bytes.
type tcpPacket struct {
	src, dst netip.AddrPort
	syn, ack bool
	len      int
}

func (p tcpPacket) String() string {
	flags := ""
	if p.syn {
		flags += "SYN"
	}
	if p.ack {
		flags += "ACK"
	}
	if flags == "" {
		flags = "no SYN"
	}
	return fmt.Sprintf("TCP %s %s -> %s, %d bytes", flags, p.src, p.dst, p.len)
}

var errNotTCP = errors.New("not an IPv4 TCP packet")

// parseTCP decodes an Ethernet frame carrying IPv4 and TCP.
func parseTCP(frame []byte) (tcpPacket, error) {
	p := packet.Decode(frame)
	if p.Err != nil {
		return tcpPacket{}, p.Err
	}
	if !p.Has(packet.LayerIPv4 | packet.LayerTCP) {
		return tcpPacket{}, errNotTCP
	}
	return tcpPacket{
		src: netip.AddrPortFrom(p.IPv4.Src, p.TCP.SrcPort),
		dst: netip.AddrPortFrom(p.IPv4.Dst, p.TCP.DstPort),
		syn: p.TCP.Flags&packet.TCPSyn != 0, ack: p.TCP.Flags&packet.TCPAck != 0, len: len(frame),
	}, nil
}
