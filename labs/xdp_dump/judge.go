package xdpdump

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// evidence is what the events of the whole check say about the program: a
// mistake shows in more than one place, and a hint names it from the place
// that shows it best.
type evidence struct {
	any bool // some event at all
	// reported counts the plain IPv4 frames of the reported kind that drew
	// an event: the connection's and each CPU's.
	reported int
	// other is true when the frame of EtherType 0x0008 drew an event.
	other bool
	// cpusWith and cpusWithout are the CPUs whose frame drew an event, and
	// those whose frame did not.
	cpusWith, cpusWithout []int
	// acceptedSYN is true when the SYN of the connection node1 accepts
	// drew an event (syn_ack step).
	acceptedSYN bool
	// segments is true when the connection's other segments drew events.
	segments bool
}

// gather reads the evidence from every part of the traffic that was sent.
func (c *checker) gather() evidence {
	var ev evidence
	if c.conn != nil {
		reported, others := c.split(c.conn.events)
		ev.reported += min(len(reported), 1)
		ev.segments = len(others) > 0
		ev.any = ev.any || len(c.conn.events) > 0
	}
	if c.accepted != nil {
		ev.any = ev.any || len(c.accepted.events) > 0
		for _, e := range c.accepted.events {
			if f := packet.Decode(e.Packet); f.Has(packet.LayerTCP) && f.TCP.Flags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn {
				ev.acceptedSYN = true
			}
		}
	}
	if c.cpus != nil {
		for i, n := range c.perFrame(c.cpus) {
			if n > 0 {
				ev.reported++
				ev.cpusWith = append(ev.cpusWith, c.cpus.cpus[i])
			} else {
				ev.cpusWithout = append(ev.cpusWithout, c.cpus.cpus[i])
			}
		}
	}
	for _, wr := range []*written{c.opts, c.cpus, c.udpLike, c.v6, c.other} {
		if wr != nil && len(wr.events) > 0 {
			ev.any = true
		}
	}
	if c.udp != nil && len(c.udp.events) > 0 {
		ev.any = true
	}
	ev.other = c.other != nil && len(c.other.events) > 0
	return ev
}

// split parts a connection's events into those that may be the segment the
// step reports (its packet is that segment, or says nothing) and those
// whose packet is another segment.
func (c *checker) split(events []Event) (reported, others []Event) {
	for _, e := range events {
		if f := packet.Decode(e.Packet); f.Has(packet.LayerIPv4|packet.LayerTCP) && !c.ex.reports(&f) {
			others = append(others, e)
		} else {
			reported = append(reported, e)
		}
	}
	return reported, others
}

// perFrame counts the events each raw frame drew, placing an event by its
// packet, else by its tuple.
func (c *checker) perFrame(wr *written) []int {
	n := make([]int, len(wr.frames))
	for _, e := range wr.events {
		i, ok := wr.owns(e)
		if !ok {
			i = wr.like(e)
		}
		if i >= 0 {
			n[i]++
		}
	}
	return n
}

// verdict is a traffic expectation that a test run of the program can
// explain when it failed: the frames, and what each is.
type verdict struct {
	at     int
	frames [][]byte
	what   []string
}

// traffic appends a traffic step's result and, when it failed, marks it
// for probe.
func (c *checker) traffic(results []labs.Result, r labs.Result, frames [][]byte, what ...string) []labs.Result {
	if !r.Pass && len(frames) > 0 {
		c.verdicts = append(c.verdicts, verdict{at: len(results), frames: frames, what: what})
	}
	return append(results, r)
}

// probe runs the attached program on copies of what did not arrive, and
// where it did not pass one, the hint says what it returned instead: the
// only way to tell XDP_ABORTED from XDP_DROP from outside. Where the
// program passes them all (or cannot be run), the hint stays as it was.
func (c *checker) probe(results []labs.Result) {
	for _, v := range c.verdicts {
		i, a, err := grade.FirstNotPassed(c.dut, v.frames)
		if err != nil || i < 0 || i >= len(v.what) {
			continue
		}
		results[v.at].Hint = verdictHint(a, v.what[i])
	}
}

// verdictHint says what the program did with a packet it should have
// passed.
func verdictHint(a capture.Action, what string) string {
	s := fmt.Sprintf("the program returned %s for %s (a test run of the attached program on a copy, BPF_PROG_TEST_RUN): xdp_dump only watches, so every path must end in return XDP_PASS", grade.ActionName(a), what)
	if a == capture.Aborted {
		s += "; XDP_ABORTED is 0, so a function that ends in `return 0` aborts every packet that gets there"
	}
	return s
}

// judge builds the expectations, in the order the traffic was sent.
func (c *checker) judge() []labs.Result {
	ev := c.gather()
	var results []labs.Result
	if c.conn != nil {
		results = c.judgeConn(results, ev)
	}
	if c.accepted != nil {
		results = c.judgeAccepted(results)
	}
	if c.opts != nil {
		results = c.judgeOptions(results, ev)
	}
	if c.cpus != nil {
		results = c.judgeCPUs(results, ev)
	}
	if c.udp != nil {
		udp, err := packet.UDPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: netip.AddrPortFrom(c.sender.Addr.Addr(), 40000),
			Dst: c.udp.d.Dst, Payload: make([]byte, 32)}.Bytes()
		var probe [][]byte
		if err == nil {
			probe = [][]byte{udp}
		}
		results = c.traffic(results, grade.DatagramsArrived("", c.udp.d, "xdp_dump only watches: it must return XDP_PASS for UDP too"), probe, "a UDP datagram like the check's")
		observed := fmt.Sprint(len(c.udp.events))
		if len(c.udp.events) > 0 {
			observed += " (" + tuples(c.udp.events) + ")"
		}
		results = append(results, labs.Assert(
			fmt.Sprintf("no event for %d UDP datagrams %s -> %s", datagrams, c.sender.Node, c.udp.d.Dst),
			len(c.udp.events) == 0, "0", observed,
			"check ip->protocol == IPPROTO_TCP before treating the bytes after the IP header as TCP, and pass everything"+c.ex.parse))
	}
	if c.udpLike != nil {
		results = c.judgeNone(results, c.udpLike, fmt.Sprintf("no event for a UDP datagram %s -> %s with %s's flags where TCP keeps them", c.udpLike.from[0], c.udpLike.to[0], c.ex.kind()),
			"check ip->protocol == IPPROTO_TCP: this UDP datagram has the bits of a "+c.ex.kind()+" 13 bytes after the IPv4 header, where a TCP header keeps its flags"+c.ex.parse)
	}
	if c.v6 != nil {
		results = c.judgeNone(results, c.v6, fmt.Sprintf("no event for an IPv6 TCP %s %s -> %s", c.ex.kind(), c.v6.from[0], c.v6.to[0]),
			"check eth->h_proto == bpf_htons(ETH_P_IP) first: an IPv6 header has no saddr/daddr where IPv4 has them; pass what you do not report"+c.ex.parse)
	}
	if c.other != nil {
		hint := "the frame is not IPv4 (its EtherType is 0x0008), yet its bytes were read as an IPv4 header: check eth->h_proto == bpf_htons(ETH_P_IP) before reading struct iphdr"
		if ev.reported == 0 {
			hint = "h_proto is in network byte order: compare it with bpf_htons(ETH_P_IP); compared with ETH_P_IP as it is, it matches this frame's 0x0008 and no IPv4 frame"
		}
		results = c.judgeNone(results, c.other, fmt.Sprintf("no event for a TCP %s in a frame of EtherType 0x0008, not IPv4", c.ex.kind()), hint+c.ex.parse)
	}
	return append(results, grade.ExactCount("no event is lost", 0, c.lost,
		"the kernel dropped events because a ring was full: a reader must keep up; report "+c.ex.kind()+"s only, not every packet"))
}

// judgeConn judges the connection whose segment the step reports: it
// completes, exactly one event for that segment, with its tuple and its
// bytes, none for its other segments. Without a connection its first
// segment cannot be told from its retransmissions, so the events are not
// judged; the rest of the check still is.
func (c *checker) judgeConn(results []labs.Result, ev evidence) []labs.Result {
	cn, kind := c.conn, c.ex.kind()
	results = c.traffic(results, grade.TCPExchanged(fmt.Sprintf("TCP connect %s -> %s succeeds", cn.ex.Client.Node, cn.ex.Dst), cn.ex,
		"xdp_dump only watches: it must return XDP_PASS for every packet, or the handshake never completes"),
		c.segments(cn, c.ex.flags), "the "+kind+" of a connection like the check's", "an ACK of that connection", "a data segment of it", "its FIN")
	if !cn.ex.Local.IsValid() {
		return results
	}
	var arrived []byte
	times := 0
	for _, f := range cn.seen {
		if c.ex.reports(&f.Packet) {
			if arrived == nil {
				arrived = f.Data
			}
			times++
		}
	}
	reported, others := c.split(cn.events)
	want := max(times, 1) // a retransmission is a packet too
	name := fmt.Sprintf("one event for the %s %s -> %s", kind, cn.from, cn.to)
	if want > 1 {
		name = fmt.Sprintf("%d events for the %d transmissions of the %s %s -> %s", want, want, kind, cn.from, cn.to)
	}
	results = append(results, grade.ExactCount(name, want, len(reported), c.countHint(len(reported), want, c.missingHint(ev))))
	first := firstOf(reported)
	results = append(results, c.tupleResult(first, cn.from, cn.to, nil))
	carries := "the event carries that " + kind + " packet"
	if c.ex.headers {
		carries = "the event carries that " + kind + "'s headers and nothing more"
	}
	results = append(results, c.carriedResult(carries, first, arrived, cn.from, cn.to))
	hint := "only a SYN without ACK opens a connection: the SYN-ACK and every later segment have the ACK flag set" + c.ex.test
	if c.ex.flags&packet.TCPAck != 0 {
		hint = "only the SYN-ACK has both flags: every later segment has the ACK flag and no SYN" + c.ex.test
	}
	observed := fmt.Sprint(len(others))
	if len(others) > 0 {
		observed += " (" + segmentList(others) + ")"
	}
	return append(results, labs.Assert("no event for the connection's ACK, data and FIN segments", len(others) == 0, "0", observed, hint))
}

// judgeAccepted judges the connection node1 accepts in the syn_ack step:
// none of its segments, its SYN included, may draw an event.
func (c *checker) judgeAccepted(results []labs.Result) []labs.Result {
	cn := c.accepted
	results = c.traffic(results, grade.TCPExchanged(fmt.Sprintf("TCP connect %s -> %s succeeds", cn.ex.Client.Node, cn.ex.Dst), cn.ex,
		"xdp_dump only watches: it must return XDP_PASS for every packet, or the handshake never completes"),
		c.segments(cn, packet.TCPSyn), "the SYN of a connection node1 accepts", "an ACK of that connection", "a data segment of it", "its FIN")
	if !cn.ex.Local.IsValid() {
		return results
	}
	observed := fmt.Sprint(len(cn.events))
	hint := "only SYN-ACKs are reported: every later segment has the ACK flag and no SYN" + c.ex.test
	if len(cn.events) > 0 {
		observed += " (" + segmentList(cn.events) + ")"
		for _, e := range cn.events {
			if f := packet.Decode(e.Packet); f.Has(packet.LayerTCP) && f.TCP.Flags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn {
				hint = "the SYN that asks node1 for a connection drew an event: report only segments with both tcp->syn and tcp->ack set; the tutorial's if (tcp->syn) takes both" + c.ex.test
			}
		}
	}
	return append(results, labs.Assert(fmt.Sprintf("no event for the connection %s -> %s that node1 accepts, its SYN included", cn.from, cn.to),
		len(cn.events) == 0, "0", observed, hint))
}

// judgeOptions judges the frame whose IPv4 and TCP headers carry options:
// it arrives, and draws one event with its tuple and bytes.
func (c *checker) judgeOptions(results []labs.Result, ev evidence) []labs.Result {
	wr, kind := c.opts, c.ex.kind()
	results = c.traffic(results, grade.FramesArrived("", wr.w, "xdp_dump only watches: it must return XDP_PASS for every packet"),
		wr.frames, "the "+kind+" with IPv4 options")
	from, to := wr.from[0], wr.to[0]
	missing := c.missingHint(ev)
	if ev.reported > 0 && len(ev.cpusWithout) == 0 {
		// Every CPU reports the SYNs without options: the options are
		// what is different.
		missing = fmt.Sprintf("the %s whose IPv4 header has options (ihl %d) drew no event, though %ss without options did: "+
			"the TCP header starts ip->ihl * 4 bytes after the IPv4 header, not sizeof(struct iphdr)%s", kind, 5+len(ipOptions)/4, kind, c.ex.parse)
	}
	results = append(results, grade.ExactCount(fmt.Sprintf("one event for the %s with IP options %s -> %s", kind, from, to),
		1, len(wr.events), c.countHint(len(wr.events), 1, missing)))
	first := firstOf(wr.events)
	results = append(results, c.tupleResult(first, from, to, wr.frames[0]))
	carries := "the event carries that " + kind + " with IP options, whole"
	if c.ex.headers {
		carries = "the event carries the headers of that " + kind + " with IP options, not its data"
	}
	return append(results, c.carriedResult(carries, first, wr.frames[0], from, to))
}

// judgeCPUs judges the frames sent one from each CPU: each draws its
// event, whichever CPU's ring it goes to.
func (c *checker) judgeCPUs(results []labs.Result, ev evidence) []labs.Result {
	wr, kind := c.cpus, c.ex.kind()
	what := make([]string, len(wr.frames))
	for i, cpu := range wr.cpus {
		what[i] = fmt.Sprintf("the %s sent from CPU %d", kind, cpu)
	}
	results = c.traffic(results, grade.FramesArrived("", wr.w, "xdp_dump only watches: it must return XDP_PASS for every packet"), wr.frames, what...)
	counts := c.perFrame(wr)
	var parts, list []string
	ok := true
	placed := 0
	for i, n := range counts {
		parts = append(parts, fmt.Sprintf("CPU %d: %d", wr.cpus[i], n))
		list = append(list, fmt.Sprint(wr.cpus[i]))
		ok = ok && n == 1
		placed += n
	}
	observed := strings.Join(parts, ", ")
	if rest := len(wr.events) - placed; rest > 0 {
		observed += fmt.Sprintf("; %d more event(s) for none of them", rest)
		ok = false
	}
	var expected []string
	for _, cpu := range wr.cpus {
		expected = append(expected, fmt.Sprintf("CPU %d: 1", cpu))
	}
	hint := c.missingHint(ev)
	switch {
	case len(ev.cpusWith) > 0 && len(ev.cpusWithout) > 0:
		hint = c.cpuHint(ev)
	case slices.ContainsFunc(counts, func(n int) bool { return n > 1 }) || placed < len(wr.events):
		hint = fmt.Sprintf("one %s, one event: call bpf_perf_event_output once per packet%s", kind, c.ex.output)
	}
	return append(results, labs.Assert(fmt.Sprintf("one event for the %s sent from each CPU (%s)", kind, strings.Join(list, ", ")),
		ok, strings.Join(expected, ", "), observed, hint))
}

// judgeNone judges a frame that must draw no event; a frame that never got
// past XDP is not evidence of that, and fails too.
func (c *checker) judgeNone(results []labs.Result, wr *written, name, hint string) []labs.Result {
	observed := fmt.Sprint(len(wr.events))
	if len(wr.events) > 0 {
		observed += " (" + tuples(wr.events) + ")"
	}
	if wr.w.Arrived < wr.w.Count {
		observed = fmt.Sprintf("the frame never got past XDP on %s/%s", wr.w.To.Node, wr.w.To.Iface)
		if len(wr.events) == 0 {
			hint = "xdp_dump only watches: it must return XDP_PASS for every packet, reported or not"
		}
	}
	r := labs.Assert(name, wr.w.Arrived == wr.w.Count && len(wr.events) == 0, "0", observed, hint)
	if len(wr.events) == 0 {
		return c.traffic(results, r, wr.frames, "that frame")
	}
	return append(results, r)
}

// segments are frames like the connection's that arrive at veth1, for a
// test run: the first segment (flags), an ACK, a data segment and a FIN.
// Without a connection the client's port is made up.
func (c *checker) segments(cn *connection, flags uint8) [][]byte {
	from, to := cn.from, cn.to
	if !from.IsValid() {
		client := netip.AddrPortFrom(cn.ex.Client.Addr.Addr(), 40000)
		from, to = client, cn.ex.Dst
		if cn.ex.Client.Node == c.dut.Node {
			from, to = cn.ex.Dst, client
		}
	}
	var out [][]byte
	for _, s := range []struct {
		flags   uint8
		payload []byte
	}{{flags, nil}, {packet.TCPAck, nil}, {packet.TCPPsh | packet.TCPAck, []byte("hello xdp_dump\n")}, {packet.TCPFin | packet.TCPAck, nil}} {
		f, err := packet.TCPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: from, Dst: to,
			Flags: s.flags, Seq: 1, Ack: 1, Window: 64240, Payload: s.payload}.Bytes()
		if err != nil {
			return nil
		}
		out = append(out, f)
	}
	return out
}

// missingHint is the hint for a packet of the reported kind that drew no
// event, from what the other events show.
func (c *checker) missingHint(ev evidence) string {
	ex := c.ex
	switch {
	case !ev.any:
		return ex.nothing
	case ev.other && ev.reported == 0:
		return "only the frame of EtherType 0x0008 drew an event, no IPv4 frame did: h_proto is in network byte order, compare it with bpf_htons(ETH_P_IP)" + ex.parse
	case len(ev.cpusWith) > 0 && len(ev.cpusWithout) > 0:
		return c.cpuHint(ev)
	case ex.flags&packet.TCPAck != 0 && ev.acceptedSYN:
		return "the SYN that asks node1 for a connection drew an event, the SYN-ACKs did not: report segments with both tcp->syn and tcp->ack set" + ex.test
	case ev.segments && ev.reported == 0:
		return fmt.Sprintf("other segments of the connection drew events, its %s did not: go on only when %s%s", ex.kind(), ex.condition(), ex.test)
	}
	return fmt.Sprintf("emit an event for every TCP %s: go on when %s%s, copy saddr, daddr and the ports from the headers as they are%s and send the event with bpf_perf_event_output%s",
		ex.kind(), ex.condition(), ex.test, ex.fill, ex.output)
}

// condition is the step's test of the flags, in words.
func (e exercise) condition() string {
	if e.flags&packet.TCPAck != 0 {
		return "tcp->syn and tcp->ack are both set"
	}
	return "tcp->syn is set and tcp->ack is clear"
}

// cpuHint says that only some CPUs' packets drew events.
func (c *checker) cpuHint(ev evidence) string {
	return fmt.Sprintf("the %ss processed on CPU %s drew no event, those on CPU %s did: pass BPF_F_CURRENT_CPU in flags, so that each CPU writes to its own ring; "+
		"with a fixed index the kernel writes only from the CPU of that ring%s",
		c.ex.kind(), cpuList(ev.cpusWithout), cpuList(ev.cpusWith), c.ex.output)
}

// countHint is the hint of a count of events: none (missing says why),
// too many, or too few.
func (c *checker) countHint(got, want int, missing string) string {
	switch {
	case got == 0:
		return missing
	case got > want:
		return fmt.Sprintf("%d events for %d %s: call bpf_perf_event_output once per packet%s", got, want, c.ex.kind(), c.ex.output)
	}
	return missing
}

// noEvent is why an event's tuple and bytes are not judged: there is none,
// and the count of events says so, with the hint.
const noEvent = "no event to read it from (the count above fails)"

// tupleResult judges the tuple of the event for the packet from -> to.
// frame is the packet as written, when the check wrote it.
func (c *checker) tupleResult(e *Event, from, to netip.AddrPort, frame []byte) labs.Result {
	name := fmt.Sprintf("the event's tuple is %s -> %s", from, to)
	want := fmt.Sprintf("%s -> %s", from, to)
	if e == nil {
		return labs.Skip(name, want, noEvent)
	}
	got := fmt.Sprintf("%s -> %s", e.Src, e.Dst)
	return labs.Assert(name, e.Src == from && e.Dst == to, want, got, c.tupleHint(e, from, to, frame))
}

// tupleHint says how an event's tuple differs from the packet's, from the
// values themselves: byte-swapped, exchanged, zero, or read from the wrong
// place.
func (c *checker) tupleHint(e *Event, from, to netip.AddrPort, frame []byte) string {
	where := c.ex.fill
	if e.Src == to && e.Dst == from {
		return "source and destination are swapped: src_ip and src_port come from ip->saddr and tcp->source, dst_ip and dst_port from ip->daddr and tcp->dest" + where
	}
	var say []string
	sp, dp := e.Src.Port(), e.Dst.Port()
	switch {
	case sp == from.Port() && dp == to.Port():
	case sp == swap16(from.Port()) && dp == swap16(to.Port()):
		say = append(say, fmt.Sprintf("the ports arrive byte-swapped (%d is %d with its bytes swapped): perf_event_item keeps them in network byte order, as tcp->source and tcp->dest hold them, and user space converts; copy them as they are, without bpf_ntohs", sp, from.Port()))
	case sp == to.Port() && dp == from.Port():
		say = append(say, "the ports are swapped: src_port is tcp->source, dst_port is tcp->dest")
	case len(frame) >= 14+24+4 && frame[14]&0x0f > 5 && sp == be16(frame[14+20:]) && dp == be16(frame[14+22:]):
		say = append(say, fmt.Sprintf("the ports were read from the IPv4 options, 20 bytes after the IPv4 header: the TCP header starts ip->ihl * 4 bytes after it%s", c.ex.parse))
	case sp == 0 || dp == 0:
		say = append(say, "a port is 0: fill src_port with tcp->source and dst_port with tcp->dest")
	default:
		say = append(say, "the ports are not the TCP header's: src_port is tcp->source, dst_port is tcp->dest, as they are")
	}
	sa, da := e.Src.Addr(), e.Dst.Addr()
	switch {
	case sa == from.Addr() && da == to.Addr():
	case sa == reversed(from.Addr()) && da == reversed(to.Addr()):
		say = append(say, fmt.Sprintf("the addresses arrive byte-swapped (%s is %s backwards): perf_event_item keeps them in network byte order, as ip->saddr and ip->daddr hold them; copy them as they are, without bpf_ntohl", sa, from.Addr()))
	case sa == to.Addr() && da == from.Addr():
		say = append(say, "the addresses are swapped: src_ip is ip->saddr, dst_ip is ip->daddr")
	case !sa.IsValid() || sa.IsUnspecified() || da.IsUnspecified():
		say = append(say, "an address is 0: fill src_ip with ip->saddr and dst_ip with ip->daddr")
	default:
		say = append(say, "the addresses are not the IPv4 header's: src_ip is ip->saddr, dst_ip is ip->daddr, as they are")
	}
	return strings.Join(say, "; ") + where
}

// carriedResult judges the packet bytes an event carries. arrived is the
// packet as it arrived (or was written), nil when unknown: then the bytes
// are judged by what they decode to.
func (c *checker) carriedResult(name string, e *Event, arrived []byte, from, to netip.AddrPort) labs.Result {
	kind := c.ex.kind()
	if c.ex.headers {
		return c.headersResult(name, e, arrived, from, to)
	}
	want := fmt.Sprintf("TCP %s %s -> %s", kind, from, to)
	if e == nil {
		return labs.Skip(name, want, noEvent)
	}
	observed, ok := c.carriedPacket(*e, arrived, from, to)
	return labs.Assert(name, ok, want, observed, c.carriedHint(e))
}

// carriedPacket describes the packet an event carries and whether it is
// the packet from -> to of the reported kind, whole: arrived, when known,
// byte for byte.
func (c *checker) carriedPacket(e Event, arrived []byte, from, to netip.AddrPort) (string, bool) {
	if s, bad := c.sampleFault(e); bad {
		return s, false
	}
	f := packet.Decode(e.Packet)
	switch {
	case f.Err != nil:
		return fmt.Sprintf("%d bytes that do not decode: %v", len(e.Packet), f.Err), false
	case !f.Has(packet.LayerIPv4 | packet.LayerTCP):
		return fmt.Sprintf("%d bytes of %s", len(e.Packet), f.Summary()), false
	}
	src := netip.AddrPortFrom(f.IPv4.Src, f.TCP.SrcPort)
	dst := netip.AddrPortFrom(f.IPv4.Dst, f.TCP.DstPort)
	observed := fmt.Sprintf("TCP %s %s -> %s, %d bytes", flagNames(f.TCP.Flags), src, dst, len(e.Packet))
	if !c.ex.reports(&f) || src != from || dst != to {
		return observed, false
	}
	if arrived != nil {
		// Whole: up to the IPv4 total length at least (what the tutorial's
		// user side keeps), up to the frame's end at most (Ethernet padding
		// included, as data_end has it).
		least := len(arrived)
		if n, ok := ipv4FrameLen(arrived); ok {
			least = n
		}
		switch at := differsAt(e.Packet, arrived); {
		case at >= 0:
			return fmt.Sprintf("%s, differing from the %s as it arrived at byte %d", observed, c.ex.kind(), at), false
		case len(e.Packet) < least:
			return fmt.Sprintf("%s: the first %d of its %d bytes", observed, len(e.Packet), least), false
		}
	}
	return observed, true
}

// sampleFault describes a sample whose length fields and bytes disagree:
// fewer bytes than its length, a length of 0 with bytes after it, no
// bytes, or (with pkt_len) more bytes than the length and the kernel's
// padding. The kernel pads a sample to 8 bytes, so what it carries beyond
// the length it gives cannot be told apart from padding more exactly.
func (c *checker) sampleFault(e Event) (string, bool) {
	switch {
	case e.Len > e.Carried:
		return fmt.Sprintf("a packet cut short: the sample carries %d of its %d bytes, the kernel's padding included", e.Carried, e.Len), true
	case e.Len == 0 && e.Carried >= 8:
		return fmt.Sprintf("pkt_len 0, yet the sample carries %d bytes after the metadata, up to 7 of them padding", e.Carried), true
	case len(e.Packet) == 0:
		return "no packet bytes after the metadata", true
	case c.layout.HasLen && e.Carried-e.Len >= 8:
		return fmt.Sprintf("pkt_len %d, yet the sample carries %d bytes after the metadata, at most 7 of them padding", e.Len, e.Carried), true
	}
	return "", false
}

// carriedHint says why an event's bytes are not the packet, from the
// sample's length fields first.
func (c *checker) carriedHint(e *Event) string {
	ex := c.ex
	lenField := ex.fill
	if lenField == "" {
		lenField = ex.output // the headers step sets pkt_len where it appends
	}
	switch {
	case e.Carried < 8:
		return "the sample holds no packet bytes, only the kernel's padding: the upper 32 bits of flags give the number of packet bytes the kernel appends, BPF_F_CURRENT_CPU | (pkt_len << 32)" + ex.output
	case e.Len == 0:
		return "pkt_len is 0, yet packet bytes follow: record in evt.pkt_len the number of bytes you ask the kernel to append" + lenField
	case e.Len > e.Carried:
		return "the sample carries fewer bytes than pkt_len says: the length in the upper 32 bits of flags and pkt_len must be the same number" + ex.output
	case c.layout.HasLen && e.Carried-e.Len >= 8:
		return "the sample carries more bytes than pkt_len says: put the same number in the upper 32 bits of flags and in pkt_len" + lenField
	}
	return "pass BPF_F_CURRENT_CPU | (len << 32) as flags, len = data_end - data, so the kernel appends the packet; record len in perf_event_item.pkt_len" + ex.output
}

// headersResult judges the bytes of an event in the headers step: exactly
// the packet's headers, Ethernet, IPv4 and TCP with their options.
func (c *checker) headersResult(name string, e *Event, arrived []byte, from, to netip.AddrPort) labs.Result {
	kind := c.ex.kind()
	ref := arrived
	if ref == nil && e != nil {
		ref = e.Packet // without the packet as it arrived, its own headers say how long they are
	}
	h, ok := headerLens(ref)
	want := fmt.Sprintf("the first %d bytes of the TCP %s %s -> %s: Ethernet 14 + IPv4 %d + TCP %d", h.total(), kind, from, to, h.ip, h.tcp)
	if !ok {
		want = fmt.Sprintf("the headers of the TCP %s %s -> %s", kind, from, to)
	}
	if e == nil {
		return labs.Skip(name, want, noEvent)
	}
	if s, bad := c.sampleFault(*e); bad {
		return labs.Assert(name, false, want, s, c.carriedHint(e))
	}
	n := len(e.Packet)
	var observed string
	at := differsAt(e.Packet, ref)
	switch {
	case !ok:
		f := packet.Decode(e.Packet)
		return labs.Assert(name, false, want, fmt.Sprintf("%d bytes that hold no IPv4 and TCP header: %s", n, f.Summary()), c.carriedHint(e))
	case at >= 0:
		observed = fmt.Sprintf("%d bytes that differ from the %s as it arrived at byte %d", n, kind, at)
	case n >= h.whole:
		observed = fmt.Sprintf("%d bytes: the whole packet", n)
	default:
		observed = fmt.Sprintf("the first %d bytes", n)
	}
	pass := at < 0 && n == h.total()
	if pass {
		observed = want
	}
	return labs.Assert(name, pass, want, observed, c.headersHint(n, h))
}

// headers are the lengths of a packet's headers and of the packet.
type headers struct {
	ip, tcp int // with their options
	// ihl and doff are the header length fields as they are, in words.
	ihl, doff int
	whole     int // the packet up to the IPv4 total length
}

func (h headers) total() int { return 14 + h.ip + h.tcp }

// headerLens reads the header lengths of an IPv4 TCP frame; enough of it
// for the headers, cut or not, will do.
func headerLens(frame []byte) (headers, bool) {
	if len(frame) < 14+20 || be16(frame[12:]) != packet.EtherTypeIPv4 {
		return headers{}, false
	}
	ihl := int(frame[14] & 0x0f)
	if ihl < 5 || len(frame) < 14+ihl*4+13 {
		return headers{}, false
	}
	doff := int(frame[14+ihl*4+12] >> 4)
	if doff < 5 {
		return headers{}, false
	}
	return headers{ip: ihl * 4, tcp: doff * 4, ihl: ihl, doff: doff, whole: 14 + int(be16(frame[16:]))}, true
}

// headersHint says how an appended length n differs from the headers', from
// the length itself.
func (c *checker) headersHint(n int, h headers) string {
	where := c.ex.length
	var s string
	switch {
	case n >= h.whole:
		s = fmt.Sprintf("the whole packet was appended (%d bytes), not only its headers (%d): compute hdr_len = 14 + ip->ihl * 4 + tcp->doff * 4%s and append hdr_len bytes, recording it in pkt_len%s",
			n, h.total(), c.ex.length, c.ex.output)
		return s
	case n == 14+20+20 && h.ip > 20 && h.tcp > 20:
		s = "sizeof(struct iphdr) and sizeof(struct tcphdr) leave the options out: the headers are ip->ihl * 4 and tcp->doff * 4 bytes long"
	case n == 14+h.ip+20 && h.tcp > 20:
		s = "the TCP options were cut: the TCP header is tcp->doff * 4 bytes long, options included, not sizeof(struct tcphdr)"
	case n == 14+20+h.tcp && h.ip > 20:
		s = "the IPv4 options were cut: the IPv4 header is ip->ihl * 4 bytes long, options included, not sizeof(struct iphdr)"
	case n == 14+h.ip+h.doff:
		s = "tcp->doff counts 32-bit words: the TCP header is tcp->doff * 4 bytes long"
	case n == 14+h.ihl+h.tcp:
		s = "ip->ihl counts 32-bit words: the IPv4 header is ip->ihl * 4 bytes long"
	case n == h.ip+h.tcp:
		s = "the Ethernet header counts too: measure hdr_len from data, the frame's first byte"
	case n == min(h.whole, 14+60+60):
		s = "a fixed 134 bytes, the most that headers can take, is not the headers' length: read it from ihl and doff"
	default:
		s = "append exactly 14 + ip->ihl * 4 + tcp->doff * 4 bytes, the Ethernet, IPv4 and TCP headers with their options"
	}
	return s + where
}

// differsAt is the first byte at which got differs from want, or -1 when
// got is want or the start of it (or want is unknown).
func differsAt(got, want []byte) int {
	if want == nil {
		return -1
	}
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return i
		}
	}
	return -1
}

// flagNames is "SYN", "SYN-ACK", "ACK" or "no SYN".
func flagNames(flags uint8) string {
	var names []string
	if flags&packet.TCPSyn != 0 {
		names = append(names, "SYN")
	}
	if flags&packet.TCPAck != 0 {
		names = append(names, "ACK")
	}
	if len(names) == 0 {
		return "no SYN"
	}
	return strings.Join(names, "-")
}

// segmentList describes events by their packets: "SYN, ACK, ACK".
func segmentList(events []Event) string {
	var s []string
	for i, e := range events {
		if i == 4 {
			s = append(s, "...")
			break
		}
		f := packet.Decode(e.Packet)
		if f.Has(packet.LayerTCP) {
			s = append(s, flagNames(f.TCP.Flags))
		} else {
			s = append(s, fmt.Sprintf("%s -> %s", e.Src, e.Dst))
		}
	}
	return strings.Join(s, ", ")
}

func tuples(events []Event) string {
	var s []string
	for _, e := range events {
		s = append(s, fmt.Sprintf("%s -> %s", e.Src, e.Dst))
	}
	return strings.Join(s, ", ")
}

func firstOf(events []Event) *Event {
	if len(events) == 0 {
		return nil
	}
	return &events[0]
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, ", ")
}

// tupleLike reports whether an event's tuple is from -> to, or the same as
// a mistaken program writes it: ports or addresses byte-swapped, source and
// destination exchanged (addresses, ports or both).
func tupleLike(e Event, from, to netip.AddrPort) bool {
	if !from.IsValid() || !to.IsValid() {
		return false
	}
	addr := func(got, want netip.Addr) bool { return got == want || got == reversed(want) }
	port := func(got, want uint16) bool { return got == want || got == swap16(want) }
	sa, da, sp, dp := e.Src.Addr(), e.Dst.Addr(), e.Src.Port(), e.Dst.Port()
	addrs := addr(sa, from.Addr()) && addr(da, to.Addr()) || addr(sa, to.Addr()) && addr(da, from.Addr())
	ports := port(sp, from.Port()) && port(dp, to.Port()) || port(sp, to.Port()) && port(dp, from.Port())
	return addrs && ports
}

func swap16(v uint16) uint16 { return v<<8 | v>>8 }

// reversed is an IPv4 address with its bytes in the other order, as
// bpf_ntohl on a little-endian machine leaves it; other addresses as they are.
func reversed(a netip.Addr) netip.Addr {
	if !a.Is4() {
		return a
	}
	b := a.As4()
	return netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]})
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
