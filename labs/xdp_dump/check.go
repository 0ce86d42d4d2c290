package xdpdump

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/cilium/ebpf/perf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Traffic the check sends to node1.
const (
	tcpPort   = 8888
	udpPort   = 9 // discard: nothing listens there but the check's sink
	datagrams = 3
	// The raw frames' ports, one per frame, so that an event that carries
	// no packet is still told apart by its tuple.
	v6Port      = 43910
	optsPort    = 43911
	etherPort   = 43912
	udpLikePort = 43913
	cpuPort     = 43920 // plus the frame's index
	// rawPort is the server's side of the raw frames: nothing listens
	// there, so node1 answers with a RST, which leaves by veth1 where XDP
	// never sees it.
	rawPort = 8889
	// optsPayload is the data the SYN with options carries: a SYN may carry
	// data (TCP Fast Open), and it makes the headers differ from the packet.
	optsPayload = 100
)

// otherEtherType is the type of a frame that carries an IPv4 SYN but is not
// IPv4. 0x0008 is ETH_P_IP with its bytes swapped: a program that compares
// h_proto with ETH_P_IP without bpf_htons takes this frame for IPv4 and the
// real ones for something else, and a program that never looks at h_proto
// takes both.
const otherEtherType = 0x0008

var (
	// ipOptions are eight bytes of IPv4 options, seven NOPs and the end of
	// the list: ihl 7, so the TCP header starts 28 bytes after the IPv4
	// header, not 20. IPv4 and TCP options of different lengths tell which
	// of them a program left out.
	ipOptions = []byte{1, 1, 1, 1, 1, 1, 1, 0}
	// tcpMSS is an MSS option of 1460: doff 6.
	tcpMSS = []byte{2, 4, 0x05, 0xb4}
	// IPv6 is off in the lab's namespaces, so these addresses belong to no
	// interface: the IPv6 frame only has to look like one to the program.
	hostIPv6  = netip.MustParseAddr("fd00::3")
	node1IPv6 = netip.MustParseAddr("fd00::2")
)

// exercise is what a step reports and appends, and where its starter
// leaves each part of the program to the learner: " (TODO 2 in
// xdp_dump.c)", or "" where the step's starter has it written, so that a
// hint sends the learner to the gap they filled.
type exercise struct {
	// flags are the SYN and ACK flags of the segments the step reports:
	// SYN alone, or SYN and ACK.
	flags uint8
	// headers is true when an event carries the packet's headers only.
	headers bool
	// parse finds the TCP header, test looks at the flags, fill fills the
	// event, output sends it (and, in the headers step, says how much to
	// append), length computes the headers' length.
	parse, test, fill, output, length string
	// nothing is the hint when no packet drew an event at all.
	nothing string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in xdp_dump.c)", n) }

var exercises = map[string]exercise{
	"": {
		flags: packet.TCPSyn, parse: todo(1), test: todo(2), fill: todo(3), output: todo(4),
		nothing: "no packet drew an event: find the TCP header of IPv4 packets" + todo(1) +
			", go on only when tcp->syn is set and tcp->ack is clear" + todo(2) +
			", fill a struct perf_event_item" + todo(3) +
			" and send it with bpf_perf_event_output(ctx, &perfmap, BPF_F_CURRENT_CPU | (pkt_len << 32), &evt, sizeof(evt))" + todo(4),
	},
	stepSynAck: {
		flags: packet.TCPSyn | packet.TCPAck, test: todo(1),
		nothing: "no packet drew an event: report every IPv4 TCP segment with both tcp->syn and tcp->ack set" + todo(1),
	},
	stepHeaders: {
		flags: packet.TCPSyn, headers: true, length: todo(1), output: todo(2),
		nothing: "no packet drew an event: report each SYN as the base exercise does, appending hdr_len bytes" + todo(2) +
			"; bpf_perf_event_output writes nothing when the length in flags exceeds the packet" + todo(1),
	},
}

// kind names the segments the step reports: "SYN" or "SYN-ACK".
func (e exercise) kind() string {
	if e.flags&packet.TCPAck != 0 {
		return "SYN-ACK"
	}
	return "SYN"
}

// reports says whether a decoded frame is a segment the step reports.
func (e exercise) reports(f *packet.Frame) bool {
	return f.Has(packet.LayerTCP) && f.TCP.Flags&(packet.TCPSyn|packet.TCPAck) == e.flags
}

// Check opens a perf reader first, then sends from the host to node1 (and
// in the syn_ack step from node1 to the host): TCP connections, raw frames
// of the kind the step reports (one whose headers carry options, one from
// each CPU, an IPv6 one, one of another EtherType), UDP datagrams; and
// compares the events with what was sent. A traffic step that goes wrong
// fails its expectation; the rest is still judged.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	layout, err := eventLayout(env)
	if err != nil {
		return nil, err
	}
	// The reader must exist before anything is sent: the program's output
	// goes nowhere while the perf map has no rings.
	rd, err := openReader(env)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	c := &checker{ctx: ctx, ex: exercises[env.Options.Step], layout: layout, rd: rd,
		sender: env.Topo.MustRole("sender"), dut: env.Topo.MustRole("dut")}
	err = c.send()
	c.route()
	results := c.judge()
	// Test runs write to the perf rings, so they come once nothing more is
	// read from them.
	c.probe(results)
	return results, err
}

// checker sends a step's traffic and keeps the events each part drew.
type checker struct {
	ctx         context.Context
	ex          exercise
	sender, dut topology.Place
	layout      Layout
	rd          *perf.Reader
	lost        uint64

	// What was sent, in order; nil when the check stopped before.
	conn     *connection // the connection whose first answer or request the step reports
	accepted *connection // syn_ack: a connection node1 accepts, which must draw no event
	opts     *written    // a reported kind with IPv4 and TCP options and data
	cpus     *written    // one of the reported kind from each CPU
	udp      *delivered
	udpLike  *written // a UDP datagram that reads as the reported kind where TCP keeps its flags
	v6       *written
	other    *written // an IPv4 frame of the reported kind under EtherType 0x0008

	// verdicts are the traffic expectations to back with the program's
	// own verdict when they failed (see probe).
	verdicts []verdict
}

// connection is a TCP exchange and the frames of it that arrived at
// node1/veth1, where XDP sees them.
type connection struct {
	ex grade.Exchanged
	// from and to are the tuple of the segments that arrive at veth1: the
	// client's to the server when the host is the client, the server's to
	// the client when node1 is.
	from, to netip.AddrPort
	// seen are the connection's frames a witness on veth1 saw past XDP.
	seen   []witness.Frame
	events []Event
}

// owns reports whether an event's packet is a segment of the connection.
func (cn *connection) owns(e Event) bool {
	f := packet.Decode(e.Packet)
	return cn.from.IsValid() && f.Has(packet.LayerIPv4|packet.LayerTCP) &&
		netip.AddrPortFrom(f.IPv4.Src, f.TCP.SrcPort) == cn.from && netip.AddrPortFrom(f.IPv4.Dst, f.TCP.DstPort) == cn.to
}

// written is raw frames the check wrote and the events they drew.
type written struct {
	w      grade.Written
	frames [][]byte
	// from and to are each frame's tuple.
	from, to []netip.AddrPort
	cpus     []int // the CPU each frame was sent from, if chosen
	events   []Event
}

// owns reports whether an event's packet is (the start of) one of the
// frames, and which.
func (wr *written) owns(e Event) (int, bool) {
	if len(e.Packet) < 14+20 {
		return -1, false // too little to tell the frames apart
	}
	for i, f := range wr.frames {
		if bytes.HasPrefix(f, e.Packet) {
			return i, true
		}
	}
	return -1, false
}

// delivered is UDP datagrams and the events they drew.
type delivered struct {
	d      grade.Delivered
	events []Event
}

func (u *delivered) owns(e Event) bool {
	f := packet.Decode(e.Packet)
	return f.Has(packet.LayerIPv4|packet.LayerUDP) && f.IPv4.Dst == u.d.Dst.Addr() && f.UDP.DstPort == u.d.Dst.Port()
}

// send runs the traffic steps in order. Its error is the check's (a port
// taken, an interruption): what the program did to the traffic is in each
// step's result.
func (c *checker) send() error {
	var err error
	client, server := c.sender, c.dut
	if c.ex.flags&packet.TCPAck != 0 {
		// A SYN-ACK arrives at node1 when node1 is the client.
		client, server = c.dut, c.sender
	}
	if c.conn, err = c.connect(client, server); err != nil {
		return err
	}
	if c.ex.flags&packet.TCPAck != 0 {
		if c.accepted, err = c.connect(c.sender, c.dut); err != nil {
			return err
		}
	}

	f, from, to, err := c.frame(optsPort, true)
	if err != nil {
		return err
	}
	c.opts, err = c.write(c.what("with IPv4 and TCP options and 100 bytes of data"), packet.EtherTypeIPv4, [][]byte{f}, nil)
	// The frames are named before any error: a check interrupted here
	// still judges what it wrote.
	c.opts.from, c.opts.to = append(c.opts.from, from), append(c.opts.to, to)
	if err != nil {
		return err
	}

	cpus, err := grade.CPUs()
	if err != nil {
		return err
	}
	var frames [][]byte
	var froms, tos []netip.AddrPort
	for i := range cpus {
		f, from, to, err := c.frame(uint16(cpuPort+i), false)
		if err != nil {
			return err
		}
		frames, froms, tos = append(frames, f), append(froms, from), append(tos, to)
	}
	what := fmt.Sprintf("%d TCP %ss, one from each CPU,", len(cpus), c.ex.kind())
	if len(cpus) == 1 {
		what = fmt.Sprintf("1 TCP %s from the only CPU", c.ex.kind())
	}
	c.cpus, err = c.write(what, packet.EtherTypeIPv4, frames, cpus)
	c.cpus.from, c.cpus.to = froms, tos
	if err != nil {
		return err
	}

	// UDP: the sink has the datagrams only after XDP passed them, and the
	// program writes its event before passing, so whatever the rings hold
	// then is all there will be.
	d, err := grade.Datagrams(c.ctx, c.sender, c.dut, udpPort, datagrams, 32)
	if err != nil {
		return err
	}
	c.udp = &delivered{d: d}
	if c.udp.events, err = c.collect(0); err != nil {
		return err
	}

	// A datagram whose byte 13 after the IPv4 header, where TCP keeps its
	// flags, reads as the reported kind: a program that takes every IPv4
	// packet for TCP reports it.
	payload := make([]byte, 16)
	payload[13-8] = c.ex.flags
	udpFrom, udpTo := netip.AddrPortFrom(c.sender.Addr.Addr(), udpLikePort), netip.AddrPortFrom(c.dut.Addr.Addr(), udpPort)
	f, err = packet.UDPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: udpFrom, Dst: udpTo, Payload: payload}.Bytes()
	if err != nil {
		return fmt.Errorf("build udp frame: %w", err)
	}
	c.udpLike, err = c.write("a UDP datagram", packet.EtherTypeIPv4, [][]byte{f}, nil)
	c.udpLike.from, c.udpLike.to = append(c.udpLike.from, udpFrom), append(c.udpLike.to, udpTo)
	if err != nil {
		return err
	}

	// IPv6 is off in the namespaces, so the frame is written raw.
	v6from, v6to := netip.AddrPortFrom(hostIPv6, v6Port), netip.AddrPortFrom(node1IPv6, tcpPort)
	if c.ex.flags&packet.TCPAck != 0 {
		v6from, v6to = netip.AddrPortFrom(hostIPv6, tcpPort), netip.AddrPortFrom(node1IPv6, v6Port)
	}
	f, err = packet.TCPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: v6from, Dst: v6to,
		Flags: c.ex.flags, Seq: 1, Ack: ackOf(c.ex.flags), Window: 64240}.Bytes()
	if err != nil {
		return fmt.Errorf("build ipv6 frame: %w", err)
	}
	c.v6, err = c.write("an IPv6 TCP "+c.ex.kind(), packet.EtherTypeIPv6, [][]byte{f}, nil)
	c.v6.from, c.v6.to = append(c.v6.from, v6from), append(c.v6.to, v6to)
	if err != nil {
		return err
	}

	f, from, to, err = c.frame(etherPort, false)
	if err != nil {
		return err
	}
	f[12], f[13] = otherEtherType>>8, otherEtherType&0xff
	c.other, err = c.write("a frame of EtherType 0x0008", otherEtherType, [][]byte{f}, nil)
	c.other.from, c.other.to = append(c.other.from, from), append(c.other.to, to)
	if err != nil {
		return err
	}
	return nil
}

// what names a raw frame of the reported kind: "TCP SYN with ...".
func (c *checker) what(with string) string { return "1 TCP " + c.ex.kind() + " " + with }

// ackOf is the acknowledgement number of a raw frame: 1 for a SYN-ACK. Its
// second byte is 0, so that a program that reads the TCP header 4 bytes too
// early (the IPv4 options') finds no SYN flag there.
func ackOf(flags uint8) uint32 {
	if flags&packet.TCPAck != 0 {
		return 1
	}
	return 0
}

// frame builds an IPv4 frame of the kind the step reports, as the host
// would send it to node1: a SYN from the host's port to node1's rawPort, or
// a SYN-ACK from the host's rawPort to node1's port. With options, its IPv4
// and TCP headers carry options and the segment carries data.
func (c *checker) frame(port uint16, options bool) (f []byte, from, to netip.AddrPort, err error) {
	from, to = netip.AddrPortFrom(c.sender.Addr.Addr(), port), netip.AddrPortFrom(c.dut.Addr.Addr(), rawPort)
	if c.ex.flags&packet.TCPAck != 0 {
		from, to = netip.AddrPortFrom(c.sender.Addr.Addr(), rawPort), netip.AddrPortFrom(c.dut.Addr.Addr(), port)
	}
	tf := packet.TCPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: from, Dst: to,
		Flags: c.ex.flags, Seq: 1, Ack: ackOf(c.ex.flags), Window: 64240}
	if options {
		tf.IPOptions, tf.Options = ipOptions, tcpMSS
		tf.Payload = bytes.Repeat([]byte("xdp_dump"), optsPayload/8+1)[:optsPayload]
	}
	f, err = tf.Bytes()
	if err != nil {
		return nil, from, to, fmt.Errorf("build tcp frame: %w", err)
	}
	return f, from, to, nil
}

// connect makes one TCP exchange from client to server while a witness on
// node1/veth1 records what arrives past XDP, and takes the events once the
// rings stayed quiet: the last ACK of the close may still be on its way
// when the exchange returns.
func (c *checker) connect(client, server topology.Place) (*connection, error) {
	w, err := witness.Open(c.dut.NS, c.dut.Iface, witness.Options{EtherType: packet.EtherTypeIPv4, Direction: witness.In})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	ex, err := grade.TCPExchange(c.ctx, client, server, tcpPort, []byte("hello xdp_dump\n"))
	if err != nil {
		return nil, err
	}
	cn := &connection{ex: ex}
	if ex.Local.IsValid() {
		cn.from, cn.to = ex.Local, ex.Dst
		if client.Node == c.dut.Node {
			cn.from, cn.to = ex.Dst, ex.Local
		}
	}
	if cn.events, err = c.collect(grade.Quiet); err != nil {
		return cn, err
	}
	frames, err := w.Frames(0) // the rings' quiet wait covered the stragglers
	if err != nil {
		return cn, err
	}
	for _, f := range frames {
		p := &f.Packet
		if cn.from.IsValid() && p.Has(packet.LayerIPv4|packet.LayerTCP) &&
			netip.AddrPortFrom(p.IPv4.Src, p.TCP.SrcPort) == cn.from && netip.AddrPortFrom(p.IPv4.Dst, p.TCP.DstPort) == cn.to {
			cn.seen = append(cn.seen, f)
		}
	}
	return cn, nil
}

// write sends raw frames from the host to node1, each from its CPU when
// cpus is given, and takes the events. Packet sockets are served after
// XDP, so once the witness has a frame the program has run on it and any
// event it wrote is in the ring; a frame that never arrives was waited for.
func (c *checker) write(what string, etherType uint16, frames [][]byte, cpus []int) (*written, error) {
	var w grade.Written
	var err error
	if cpus != nil {
		w, err = grade.FramesOnCPUs(c.ctx, c.sender, c.dut, what, etherType, frames, cpus)
	} else {
		w, err = grade.Frames(c.ctx, c.sender, c.dut, what, etherType, frames)
	}
	wr := &written{w: w, frames: frames, cpus: cpus}
	if err != nil {
		return wr, err
	}
	wr.events, err = c.collect(0)
	return wr, err
}

// collect reads events until the rings have stayed empty for quiet; with
// quiet 0 it takes only what is already there. Lost samples add to c.lost.
func (c *checker) collect(quiet time.Duration) ([]Event, error) {
	var events []Event
	for {
		if err := c.ctx.Err(); err != nil {
			return events, err
		}
		c.rd.SetDeadline(time.Now().Add(quiet))
		rec, err := c.rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return events, nil
		}
		if err != nil {
			return events, fmt.Errorf("read perf events: %w", err)
		}
		if rec.LostSamples > 0 {
			c.lost += rec.LostSamples
			continue
		}
		// A sample that does not decode whole still counts as an event: its
		// packet is judged, with what it does carry, by the check.
		ev, _ := Decode(rec.RawSample, c.layout)
		ev.CPU = rec.CPU
		events = append(events, ev)
	}
}

// route gives each event to the part of the traffic its packet belongs to,
// whichever read took it: a late segment of a connection is the
// connection's. An event whose packet tells nothing (no bytes, or bytes
// from the wrong place) is placed by its tuple, byte-swapped or reversed
// as a mistaken program writes it; failing that it stays where it was
// read.
func (c *checker) route() {
	type window struct {
		events   *[]Event
		owns     func(Event) bool
		ownsLike func(Event) bool
	}
	var ws []window
	conn := func(cn *connection) {
		if cn != nil {
			ws = append(ws, window{&cn.events, cn.owns, func(e Event) bool { return tupleLike(e, cn.from, cn.to) }})
		}
	}
	raw := func(wr *written) {
		if wr != nil {
			ws = append(ws, window{&wr.events,
				func(e Event) bool { _, ok := wr.owns(e); return ok },
				func(e Event) bool { return wr.like(e) >= 0 }})
		}
	}
	conn(c.conn)
	conn(c.accepted)
	raw(c.opts)
	raw(c.cpus)
	if c.udp != nil {
		ws = append(ws, window{&c.udp.events, c.udp.owns, func(Event) bool { return false }})
	}
	raw(c.udpLike)
	raw(c.v6)
	raw(c.other)

	moved := make([][]Event, len(ws))
	for i, w := range ws {
		for _, e := range *w.events {
			to := i
			switch {
			case w.owns(e):
			case slices.ContainsFunc(ws, func(o window) bool { return o.owns(e) }):
				to = slices.IndexFunc(ws, func(o window) bool { return o.owns(e) })
			case knownPacket(e) || w.ownsLike(e):
				// A packet that is none of the check's stays where it came.
			case slices.ContainsFunc(ws, func(o window) bool { return o.ownsLike(e) }):
				to = slices.IndexFunc(ws, func(o window) bool { return o.ownsLike(e) })
			}
			moved[to] = append(moved[to], e)
		}
	}
	for i, w := range ws {
		*w.events = moved[i]
	}
}

// knownPacket reports whether an event's packet decodes as an IPv4 or
// IPv6 segment or datagram: such an event is placed by its packet alone.
func knownPacket(e Event) bool {
	f := packet.Decode(e.Packet)
	return f.Has(packet.LayerTCP) || f.Has(packet.LayerUDP)
}

// like returns the index of the frame whose tuple the event's is, as
// tupleLike reads it, or -1.
func (wr *written) like(e Event) int {
	for i := range wr.from {
		if tupleLike(e, wr.from[i], wr.to[i]) {
			return i
		}
	}
	return -1
}
