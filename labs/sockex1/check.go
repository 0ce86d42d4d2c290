package sockex1

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Traffic the check sends.
const (
	// Over node1's lo.
	pings        = 5
	datagrams    = 4
	udpPort      = 9999
	udpPayload   = 100
	udpFrameLen  = ethHLen + 20 + 8 + udpPayload // Ethernet + IPv4 + UDP headers + payload
	pingFrameLen = ethHLen + 20 + 8 + traffic.DefaultPayload
	tcpPort      = 8888
	// Between node1's veth1 and the host: node1 sends vethOut datagrams
	// and receives vethIn, of other sizes, so that the count says which
	// direction was counted.
	vethPort       = 9998
	vethOut        = 2
	vethOutPayload = 200
	vethIn         = 3
	vethInPayload  = 50

	ethHLen = 14
	// snapLen is what the snap step's socket keeps of each packet: the
	// Ethernet and IPv4 headers.
	snapLen = ethHLen + 20
)

// IP protocol numbers, the map's keys. protoRaw is the largest the byte
// can hold: frames of it test the map's last slot.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
	protoRaw  = 255
)

// rawPayloads are the payloads of the protocol 255 frames the check writes
// out of lo: frames of 80, 120 and 220 bytes.
var rawPayloads = []int{46, 86, 186}

// Frames the check writes out of lo are addressed to otherMAC, not to lo's
// all-zero address: their copies come back in as PACKET_OTHERHOST, which the
// stack drops, so that a filter which counts PACKET_HOST instead of
// PACKET_OUTGOING misses them (on lo, every other packet comes back as
// PACKET_HOST, and such a filter would count the same bytes). The addresses
// are TEST-NET ones that belong to nobody.
var (
	otherMAC = net.HardwareAddr{0x02, 0x78, 0x6c, 0x00, 0x00, 0x01}
	loMAC    = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	rawSrc   = netip.MustParseAddr("192.0.2.1")
	rawDst   = netip.MustParseAddr("192.0.2.2")
	ipv6Src  = netip.MustParseAddr("fd00::3")
	ipv6Dst  = netip.MustParseAddr("fd00::2")
)

// exercise is what a step expects, and where its starter leaves each part
// of the program to the learner: " (TODO 1 in sockex1.c)", or "" where the
// step's starter has it written, so that a hint sends the learner to the
// gap they filled.
type exercise struct {
	packets  bool // my_map holds struct pair: packets are counted too
	ipv4Only bool // frames that are not IPv4 must not be counted
	snap     int  // bytes of each outgoing packet the socket keeps; 0 keeps none
	// Where each part is written: the protocol byte, the PACKET_OUTGOING
	// test, the add, the IPv4 test, the return value.
	key, outgoing, add, ipv4, keep string
	// nothing is the hint when nothing at all was counted.
	nothing string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in sockex1.c)", n) }

var exercises = map[string]exercise{
	"": {
		key: todo(1), outgoing: todo(2), add: todo(3),
		nothing: "nothing was counted: read the protocol byte into index" + todo(1) +
			", return 0 before counting only for packets whose skb->pkt_type is not PACKET_OUTGOING" + todo(2) +
			", and add skb->len to my_map[index] with __sync_fetch_and_add" + todo(3),
	},
	stepPackets: {
		packets: true, ipv4Only: true, ipv4: todo(1), key: todo(2), add: todo(2),
		nothing: "nothing was counted: read the protocol byte into index and add 1 to value->packets and skb->len to value->bytes of my_map[index]" + todo(2) +
			"; if you did, the IPv4 test turns every packet away: mind the byte order, skb->protocol is in network byte order, " +
			"compare it with bpf_htons(ETH_P_IP) (load_half(skb, 12) returns host order: compare that with ETH_P_IP)" + todo(1),
	},
	stepSnap: {
		snap: snapLen, keep: todo(1),
		nothing: "nothing was counted: count the packet first, then return the snap length; nothing after a return runs" + todo(1),
	},
}

// Check attaches the filter to its own socket on the dut's lo, sends
// pings, UDP datagrams, a TCP exchange and raw frames over lo, compares
// the counts with what left lo and what the socket kept with what the step
// asks, then attaches the filter to a socket on veth1 to see which
// direction it counts. Traffic that a socket filter cannot have stopped
// and that does not arrive is the node's fault: an error, after the
// expectations judged so far.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	m, err := grade.OpenMap(env, mapName, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	lo := grade.Loopback(env.Topo.MustRole("dut"))
	// Attached before the first ping, or the pings go uncounted. What it
	// keeps is read at the end: a buffer for every frame of the check.
	filter, err := attachFilter(env, lo, witness.Options{Buffer: 4 << 20})
	if err != nil {
		return nil, err
	}
	if filter != nil {
		defer filter.Close()
	}
	// A plain packet socket on lo witnesses what leaves it: the TCP
	// segments, whose number depends on the stack, and every frame the
	// snap step's socket must keep a part of.
	out, err := witness.Open(lo.NS, lo.Iface, witness.Options{Direction: witness.Out, Buffer: 4 << 20})
	if err != nil {
		return nil, err
	}
	defer out.Close()
	c := &checker{ctx: ctx, env: env, ex: exercises[env.Options.Step], m: m, lo: lo, filter: filter, out: out}
	results, err := c.loopback()
	if err != nil {
		return results, err
	}
	if filter != nil {
		results = append(results, c.kept())
	}
	r, err := c.veth()
	if err != nil {
		return results, err
	}
	return append(results, append(r, c.nothingElse())...), nil
}

// checker runs a step's traffic and keeps what it all made the map count.
type checker struct {
	ctx    context.Context
	env    *labs.Env
	ex     exercise
	m      *ebpf.Map
	lo     topology.Place
	filter *witness.Witness // the socket running the filter on lo; nil in a bare lab
	out    *witness.Witness // a plain socket on lo, outgoing frames
	// left are the frames that left lo during the traffic over lo.
	left []witness.Frame
	// counted is everything the traffic over lo made my_map count, stray
	// what it counted under a protocol other than the one sent.
	counted, stray tally
	// outErr is the first error reading out: returned once the traffic
	// has been judged, since lo broken makes both fail and the traffic
	// says why.
	outErr error
}

// phase runs one traffic step over lo and returns what it made my_map
// count and the frames that left lo meanwhile, read once lo has been quiet
// for quiet. Its error is the check's (a port taken, an interruption); an
// error reading the frames waits in outErr.
func (c *checker) phase(quiet time.Duration, act func() error) (tally, []witness.Frame, error) {
	var frames []witness.Frame
	d, actErr, err := measure(c.ctx, c.m, func() error {
		if err := act(); err != nil {
			return err
		}
		var err error
		if frames, err = c.out.Frames(quiet); err != nil && c.outErr == nil {
			c.outErr = fmt.Errorf("witness of what leaves lo in %s: %w", c.lo.Node, err)
		}
		return nil
	})
	if actErr != nil {
		return tally{}, nil, actErr
	}
	if err != nil {
		return tally{}, nil, err
	}
	c.counted = c.counted.add(d)
	c.left = append(c.left, frames...)
	return d, frames, nil
}

// undelivered is the error for traffic over a link that did not arrive: a
// socket filter keeps nothing from anyone else's socket, so that is the
// node's fault, never the program's.
func (c *checker) undelivered(where topology.Place, what, seen string) error {
	return labs.Errorf(labs.ErrEnvironment, "%s over %s in %s: %s; a socket filter cannot cause that, so %s in %s is broken: %s",
		what, where.Iface, where.Node, seen, where.Iface, where.Node, c.env.RebuildFix())
}

// loopback sends the traffic over lo and judges the counts of each kind.
func (c *checker) loopback() ([]labs.Result, error) {
	ctx, lo := c.ctx, c.lo
	var results []labs.Result

	// 1. Pings: 10 ICMP packets leave lo, 5 requests and 5 replies, 98 bytes
	// each. The last reply has been read when Pings returns: it left lo (and
	// was counted) before that, and so did every copy coming back in.
	var ping grade.Pinged
	d, _, err := c.phase(0, func() (err error) {
		ping, err = grade.Pings(ctx, lo, lo.Addr.Addr(), pings)
		return err
	})
	if err != nil {
		return results, err
	}
	c.stray = c.stray.add(d.except(protoICMP))
	icmp := c.count(c.named(fmt.Sprintf("ICMP counts %d x (%d request + %d reply) bytes", pings, pingFrameLen, pingFrameLen),
		fmt.Sprintf("ICMP counts %d packets and %d x (%d request + %d reply) bytes", 2*pings, pings, pingFrameLen, pingFrameLen)),
		protoICMP, d, sameSize("pings", 2*pings, pingFrameLen))
	if !icmp.Pass && ping.Received != pings {
		icmp.Hint = fmt.Sprintf("%d of %d pings were answered, so the count cannot be judged: see why above", ping.Received, pings)
	}
	results = append(results,
		grade.PingsAnswered(fmt.Sprintf("%d pings %s in %s are answered", pings, lo.Addr.Addr(), lo.Node), ping,
			fmt.Sprintf("a socket filter cannot drop anything for others: if pings fail here, %s's lo is not up", lo.Node)),
		icmp)

	// 2. UDP datagrams to a listener, so no ICMP port unreachable comes
	// back. The sink has them all when Datagrams returns.
	var udp grade.Delivered
	d, _, err = c.phase(0, func() (err error) {
		udp, err = grade.Datagrams(ctx, lo, lo, udpPort, datagrams, udpPayload)
		return err
	})
	if err != nil {
		return results, err
	}
	if udp.Arrived != udp.Count || udp.Failure != nil {
		return results, c.undelivered(lo, fmt.Sprintf("udp to %s", udp.Dst), udp.String())
	}
	if c.outErr != nil {
		return results, c.outErr
	}
	c.stray = c.stray.add(d.except(protoUDP))
	results = append(results, c.count(c.named(fmt.Sprintf("UDP counts %d datagrams x %d bytes (%d payload + 42 header)", datagrams, udpFrameLen, udpPayload),
		fmt.Sprintf("UDP counts %d packets and %d datagrams x %d bytes (%d payload + 42 header)", datagrams, datagrams, udpFrameLen, udpPayload)),
		protoUDP, d, sameSize("datagrams", datagrams, udpFrameLen)))

	// 3. A TCP exchange. Its segment count depends on the stack (delayed
	// ACKs, options), so the witness says what left lo. Its frames are
	// read once lo has been quiet: the last ACK of the close may still be
	// on its way when the exchange returns, and the counters are read
	// after.
	var tcp grade.Exchanged
	d, frames, err := c.phase(grade.Quiet, func() (err error) {
		tcp, err = grade.TCPExchange(ctx, lo, lo, tcpPort, []byte("hello sockex1\n"))
		return err
	})
	if err != nil {
		return results, err
	}
	if !tcp.OK() {
		return results, c.undelivered(lo, fmt.Sprintf("tcp to %s", tcp.Dst), tcp.String())
	}
	if c.outErr != nil {
		return results, c.outErr
	}
	segments := sentOf(c.ex, "TCP segments", frames, protoTCP)
	if segments.bytes == 0 {
		return results, labs.Errorf(labs.ErrEnvironment, "the witness on lo in %s saw no TCP segment leave during a TCP exchange that completed: %s",
			lo.Node, c.env.RebuildFix())
	}
	c.stray = c.stray.add(d.except(protoTCP))
	results = append(results, c.count(c.named("TCP counts every segment of a connection, as a plain packet socket on lo saw them leave",
		"TCP counts every segment of a connection and its bytes, as a plain packet socket on lo saw them leave"),
		protoTCP, d, segments))

	// 4. Frames of protocol 255, the map's last slot, written out of lo to
	// another MAC: they leave lo, and come back in as PACKET_OTHERHOST.
	// Read once lo has been quiet, so that copies coming back in have
	// been through the filter too.
	r, err := c.rawFrames()
	if err != nil {
		return results, err
	}
	results = append(results, r)

	// 5. The packets step counts IPv4 only.
	if c.ex.ipv4Only {
		r, err := c.notIPv4()
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	// The frames that left lo are what the socket's keep is judged by.
	return results, c.outErr
}

// rawFrames writes frames of protocol 255 out of lo and judges their count.
func (c *checker) rawFrames() (labs.Result, error) {
	var frames [][]byte
	want := sent{what: "frames"}
	for _, n := range rawPayloads {
		f, err := packet.IPv4Frame{SrcMAC: loMAC, DstMAC: otherMAC, Src: rawSrc, Dst: rawDst, Protocol: protoRaw, Payload: make([]byte, n)}.Bytes()
		if err != nil {
			return labs.Result{}, fmt.Errorf("build protocol %d frame: %w", protoRaw, err)
		}
		frames = append(frames, f)
		want.add(uint64(len(f)))
	}
	d, _, err := c.phase(grade.Quiet, func() error { return c.send(packet.EtherTypeIPv4, frames) })
	if err != nil {
		return labs.Result{}, err
	}
	c.stray = c.stray.add(d.except(protoRaw))
	name := c.named(fmt.Sprintf("%d frames of protocol %d (%s) written out of lo count their %d bytes once, under key %d", len(frames), protoRaw, labs.IPProtoName(protoRaw), want.bytes, protoRaw),
		fmt.Sprintf("%d frames of protocol %d (%s) written out of lo count %d packets and their %d bytes once, under key %d", len(frames), protoRaw, labs.IPProtoName(protoRaw), len(frames), want.bytes, protoRaw))
	r := c.count(name, protoRaw, d, want)
	if !r.Pass {
		r.Hint = c.rawHint(d, want)
	}
	return r, nil
}

// send writes frames out of lo. A frame the kernel refuses is an error of
// the check: they are well-formed, and the filter runs after the send.
func (c *checker) send(etherType uint16, frames [][]byte) error {
	for _, f := range frames {
		if err := witness.Send(c.lo.NS, c.lo.Iface, etherType, f); err != nil {
			return err
		}
	}
	return nil
}

// rawHint says what the count of the protocol 255 frames shows: they tell
// PACKET_OUTGOING from PACKET_HOST, and they need the map's last slot.
func (c *checker) rawHint(d tally, want sent) string {
	got := d.bytes[protoRaw]
	switch {
	case c.counted.empty():
		return c.ex.nothing
	case got == 2*want.bytes:
		return "each frame was counted twice: leaving lo (PACKET_OUTGOING) and coming back in as PACKET_OTHERHOST, since it is addressed to another MAC: " +
			"return 0 for every packet that is not PACKET_OUTGOING, not only for PACKET_HOST" + c.ex.outgoing
	case got == 0 && c.m.MaxEntries() <= protoRaw:
		return fmt.Sprintf("my_map has %d entries, so key %d, the largest value of the protocol byte, has no slot and its lookup fails: declare max_entries 256",
			c.m.MaxEntries(), protoRaw)
	case got == 0 && d.empty():
		return "the frames were not counted as they left lo: count the packets whose skb->pkt_type is PACKET_OUTGOING; a test for PACKET_HOST counts the copies " +
			"coming back in instead, and these come back as PACKET_OTHERHOST (they are addressed to another MAC), so it misses them" + c.ex.outgoing
	}
	return c.countHint(d, protoRaw, want)
}

// notIPv4 writes an IPv6 frame and an ARP frame out of lo: the packets
// step counts IPv4 only.
func (c *checker) notIPv4() (labs.Result, error) {
	ip6, err := packet.UDPFrame{SrcMAC: loMAC, DstMAC: otherMAC,
		Src: netip.AddrPortFrom(ipv6Src, 5000), Dst: netip.AddrPortFrom(ipv6Dst, udpPort), Payload: make([]byte, udpPayload)}.Bytes()
	if err != nil {
		return labs.Result{}, fmt.Errorf("build ipv6 frame: %w", err)
	}
	arp, err := packet.ARPFrame{SrcMAC: loMAC, DstMAC: otherMAC, Operation: packet.ARPRequest,
		SenderHW: loMAC, TargetHW: loMAC, SenderIP: rawSrc, TargetIP: rawDst}.Bytes()
	if err != nil {
		return labs.Result{}, fmt.Errorf("build arp frame: %w", err)
	}
	d, _, err := c.phase(grade.Quiet, func() error {
		if err := c.send(packet.EtherTypeIPv6, [][]byte{ip6}); err != nil {
			return err
		}
		return c.send(packet.EtherTypeARP, [][]byte{arp})
	})
	if err != nil {
		return labs.Result{}, err
	}
	observed := d.bytes.Format(labs.IPProtoName)
	if d.bytes.Total() == 0 && d.packets.Total() != 0 {
		observed = d.packets.Format(labs.IPProtoName) + " packets"
	}
	return labs.Assert(fmt.Sprintf("an IPv6 frame (%d bytes) and an ARP frame (%d bytes) written out of lo are not counted", len(ip6), len(arp)),
		d.empty(), "none", observed,
		"frames that are not IPv4 were counted, under their 24th byte, which is no protocol number for them: "+
			"return 0 unless skb->protocol == bpf_htons(ETH_P_IP)"+c.ex.ipv4), nil
}

// named is an expectation's name in a step that counts bytes, or packets
// and bytes.
func (c *checker) named(bytes, packetsAndBytes string) string {
	if c.ex.packets {
		return packetsAndBytes
	}
	return bytes
}

// sent is what a traffic step made leave an interface under one protocol,
// as the program must count it.
type sent struct {
	what           string // "pings", for hints
	packets, bytes uint64
	lens           []uint64 // of each packet
}

func (s *sent) add(n uint64) { s.packets, s.bytes, s.lens = s.packets+1, s.bytes+n, append(s.lens, n) }

// sameSize is n packets of size bytes.
func sameSize(what string, n, size uint64) sent {
	s := sent{what: what}
	for range n {
		s.add(size)
	}
	return s
}

// sentOf is what the step's program must count under proto for frames
// that left an interface.
func sentOf(ex exercise, what string, frames []witness.Frame, proto uint32) sent {
	s := sent{what: what}
	for _, f := range frames {
		if k, ok := keyOf(ex, f); ok && k == proto {
			s.add(uint64(f.Len))
		}
	}
	return s
}

// count judges what a step counted under proto: bytes, and packets in the
// packets step.
func (c *checker) count(name string, proto uint32, d tally, want sent) labs.Result {
	wantPackets, wantBytes := want.packets, want.bytes
	gotP, gotB := d.packets[proto], d.bytes[proto]
	expected, observed := fmt.Sprint(wantBytes), fmt.Sprint(gotB)
	pass := gotB == wantBytes
	if c.ex.packets {
		expected = fmt.Sprintf("%d packets, %d bytes", wantPackets, wantBytes)
		observed = fmt.Sprintf("%d packets, %d bytes", gotP, gotB)
		pass = pass && gotP == wantPackets
	}
	return labs.Assert(name, pass, expected, observed, c.countHint(d, proto, want))
}

// countHint says what the counts show when the packets a step sent were
// not counted once each, with their whole length, under their protocol:
// nothing counted at all, counted under another key, several times, 1 per
// packet, without the Ethernet header, one packet only, fields swapped;
// without such evidence, how to count them.
func (c *checker) countHint(d tally, proto uint32, want sent) string {
	ex, wantP, wantB, what := c.ex, want.packets, want.bytes, want.what
	gotP, gotB := d.packets[proto], d.bytes[proto]
	switch {
	case c.counted.empty():
		return ex.nothing
	case gotB == 0 && gotP == 0:
		if k, ok := d.bytes.Elsewhere(proto, wantB); ok {
			return fmt.Sprintf("the %d bytes of the %s were counted under key %d (%s), not %d (%s): index is the protocol byte at "+
				"ETH_HLEN + offsetof(struct iphdr, protocol), 23 bytes into the frame%s", wantB, what, k, labs.IPProtoName(k), proto, labs.IPProtoName(proto), ex.key)
		}
		return fmt.Sprintf("the %s were not counted under %d (%s): count every packet whose skb->pkt_type is PACKET_OUTGOING under its protocol byte%s",
			what, proto, labs.IPProtoName(proto), ex.outgoing)
	case ex.packets && gotP == wantB && gotB == wantP:
		return "packets and bytes are swapped: struct pair's first field is packets, which gets 1, and bytes gets skb->len" + ex.add
	case gotB > wantB && gotB%wantB == 0:
		return fmt.Sprintf("each packet was counted %d times: return 0 before counting when skb->pkt_type is not PACKET_OUTGOING "+
			"(lo shows each packet leaving and coming back in)%s, and close other sockets running this filter (%s): each one counts every packet again",
			gotB/wantB, ex.outgoing, labs.Cmd(c.env.Instance, "watch sockex1"))
	case gotB == wantP && wantP != wantB:
		return fmt.Sprintf("%d is the number of packets, not their bytes: add skb->len, the packet's length, not 1%s", gotB, ex.add)
	case gotB+ethHLen*wantP == wantB:
		return "each packet was counted 14 bytes short: skb->len is the whole frame, its 14-byte Ethernet header included: add skb->len as it is" + ex.add
	case wantP > 1 && slices.Contains(want.lens, gotB), ex.packets && gotP == 1 && wantP > 1:
		return "only one packet is in the count: bpf_map_update_elem replaced the value with each packet; add to the value that bpf_map_lookup_elem returned, " +
			"with __sync_fetch_and_add" + ex.add
	case ex.packets && gotB == wantB && gotP == 0:
		return "the bytes are right but no packet was counted: add 1 to value->packets as well" + ex.add
	case ex.packets && gotB == wantB:
		return fmt.Sprintf("the bytes are right but %d packets were counted for %d: add 1 to value->packets once per packet%s", gotP, wantP, ex.add)
	}
	return "add skb->len, the whole frame with its 14-byte Ethernet header, once per outgoing packet under its protocol byte" + ex.add
}

// keyOf is the key the step's reference program counts a frame under, if
// any: byte 23 of the frame (the sample reads it whatever the frame
// carries, and a frame too short for it ends the program), of IPv4 frames
// only in the packets step.
func keyOf(ex exercise, f witness.Frame) (uint32, bool) {
	if len(f.Data) <= ethHLen+9 {
		return 0, false
	}
	if ex.ipv4Only && (f.Data[12] != 0x08 || f.Data[13] != 0x00) {
		return 0, false
	}
	return uint32(f.Data[ethHLen+9]), true
}

// kept judges what the socket running the filter on lo kept of the
// traffic over lo: nothing (the filter returns 0), or in the snap step the
// first snapLen bytes of each frame that left lo.
func (c *checker) kept() labs.Result {
	return c.judgeKeptBy(c.filter, c.lo.Iface, c.left)
}

// judgeKeptBy reads what a socket running the filter on iface kept and
// judges it against the frames that left iface.
func (c *checker) judgeKeptBy(filter *witness.Witness, iface string, left []witness.Frame) labs.Result {
	name := "the socket keeps nothing: bpf_prog1 returns 0"
	if c.ex.snap > 0 {
		name = fmt.Sprintf("the socket keeps the first %d bytes (Ethernet + IPv4 headers) of each frame that left lo", c.ex.snap)
	}
	kept, err := filter.Frames(0)
	if err != nil {
		// The buffer holds far more than the check sends: whatever went
		// wrong, the record is incomplete and proves nothing.
		return labs.Assert(name, false, keptText(iface, len(left), c.ex.snap), fmt.Sprintf("the socket could not be read: %v", err),
			"the filter kept more than the socket can hold: return 0 for what the socket must not keep"+c.ex.keep)
	}
	return judgeKept(name, iface, c.ex, left, kept)
}

// judgeKept compares what a socket on iface kept with the frames that left
// iface: each must be there once, cut to snap bytes (a snap of 0 keeps
// nothing), and nothing else.
func judgeKept(name, iface string, ex exercise, left, kept []witness.Frame) labs.Result {
	used := make([]bool, len(left))
	matched := 0
	var in, whole int
	cuts := map[int]int{} // kept length -> frames, of those cut
	for _, k := range kept {
		switch {
		case !k.Out:
			in++
		case len(k.Data) >= k.Len:
			whole++
		default:
			cuts[len(k.Data)]++
		}
		if !k.Out || ex.snap == 0 || len(k.Data) != min(ex.snap, k.Len) {
			continue
		}
		for i, l := range left {
			if !used[i] && l.Len == k.Len && len(l.Data) >= len(k.Data) && string(l.Data[:len(k.Data)]) == string(k.Data) {
				used[i], matched = true, matched+1
				break
			}
		}
	}
	expected := keptText(iface, len(left), ex.snap)
	observed := describeKept(iface, kept)
	pass := matched == len(kept) && (ex.snap == 0 || matched == len(left))
	if pass {
		observed = expected
	}
	var hint string
	switch {
	case pass:
	case ex.snap == 0:
		hint = fmt.Sprintf("the socket got %d frames: a socket filter's return value is how many bytes of the packet its socket gets, "+
			"and this one only counts: return 0, which keeps nothing, on every path", len(kept))
	case len(kept) == 0:
		hint = fmt.Sprintf("the socket got nothing: return %d (ETH_HLEN + sizeof(struct iphdr)) for a packet leaving %s, after counting it; 0 keeps nothing%s",
			ex.snap, iface, ex.keep)
	case in > 0:
		hint = fmt.Sprintf("the socket also got %d copies coming back in: return 0 for every packet that is not PACKET_OUTGOING, "+
			"and the snap length only for those leaving %s%s", in, iface, ex.keep)
	case whole > 0:
		hint = fmt.Sprintf("the socket got whole packets: the kernel cuts a packet to the filter's return value, so skb->len "+
			"(or -1, which a classic BPF filter returns to accept) keeps all of it: return %d%s", ex.snap, ex.keep)
	case len(cuts) == 1 && cuts[ex.snap] == 0:
		var n int
		for n = range cuts {
		}
		hint = fmt.Sprintf("each packet was cut to %d bytes, not %d%s%s", n, ex.snap, cutWhy(n), ex.keep)
	default:
		hint = fmt.Sprintf("%d of the %d frames that left %s were kept as the step asks: return %d for every outgoing packet, whatever its protocol%s",
			matched, len(left), iface, ex.snap, ex.keep)
	}
	return labs.Assert(name, pass, expected, observed, hint)
}

// cutWhy explains a cut length that is one of the headers alone.
func cutWhy(n int) string {
	switch n {
	case 20:
		return ": 20 is sizeof(struct iphdr) alone, but what the socket gets starts at the Ethernet header: add ETH_HLEN"
	case ethHLen:
		return ": 14 is the Ethernet header alone: add sizeof(struct iphdr)"
	}
	return ": ETH_HLEN + sizeof(struct iphdr) is 14 + 20"
}

// keptText says what a socket on iface that keeps snap bytes of each of
// out frames leaving it keeps: "no frame", or "31 frames: 31 leaving lo,
// cut to 34 bytes".
func keptText(iface string, out, snap int) string {
	if snap == 0 || out == 0 {
		return "no frame"
	}
	return fmt.Sprintf("%d frames: %d leaving %s, cut to %d bytes", out, out, iface, snap)
}

// describeKept says what a socket on iface kept, by direction and by what
// was cut.
func describeKept(iface string, kept []witness.Frame) string {
	if len(kept) == 0 {
		return "no frame"
	}
	s := fmt.Sprintf("%d frames", len(kept))
	for _, dir := range []struct {
		out  bool
		name string
	}{{true, "leaving " + iface}, {false, "coming in"}} {
		var n, whole int
		lens := map[int]bool{}
		for _, k := range kept {
			if k.Out != dir.out {
				continue
			}
			n++
			if len(k.Data) >= k.Len {
				whole++
			} else {
				lens[len(k.Data)] = true
			}
		}
		if n == 0 {
			continue
		}
		var how string
		switch {
		case whole == n:
			how = "kept whole"
		case whole == 0 && len(lens) == 1:
			for l := range lens {
				how = fmt.Sprintf("cut to %d bytes", l)
			}
		default:
			how = fmt.Sprintf("%d kept whole, %d cut to %d different lengths", whole, n-whole, len(lens))
		}
		s += fmt.Sprintf("; %d %s, %s", n, dir.name, how)
	}
	return s
}

// veth attaches the filter to a socket on node1's veth1 for a moment: node1
// sends datagrams to the host and receives others. On lo every packet
// leaves and comes back in, alike, so only here does a filter that counts
// what arrives instead of what leaves show itself. In a bare lab, whose
// own socket on lo the check cannot read, what this socket keeps is the
// evidence of the filter's return value; the learner's socket on lo sees
// none of this traffic, so nothing is counted twice.
func (c *checker) veth() ([]labs.Result, error) {
	ctx, env := c.ctx, c.env
	dut, sender := env.Topo.MustRole("dut"), env.Topo.MustRole("sender")
	// Both neighbours known first, so that as a rule no ARP crosses veth1
	// while the filter runs there (one that does is counted as the step's
	// program would count it): node1 asks for the host's address, the
	// host learns node1's from the request.
	warm, err := grade.Pings(ctx, dut, sender.Addr.Addr(), 1)
	if err != nil {
		return nil, err
	}
	if warm.Received != 1 {
		return nil, c.undelivered(dut, fmt.Sprintf("a ping to %s", sender.Addr.Addr()), warm.String())
	}
	filter, err := openFilter(env, dut, witness.Options{Buffer: 1 << 20})
	if err != nil {
		return nil, err
	}
	defer filter.Close()
	wit, err := witness.Open(dut.NS, dut.Iface, witness.Options{Buffer: 1 << 20})
	if err != nil {
		return nil, err
	}
	defer wit.Close()
	var (
		out, in grade.Delivered
		frames  []witness.Frame
	)
	// Each sink has every datagram when Datagrams returns, so each has
	// been through the filter on veth1 by then.
	d, actErr, err := measure(ctx, c.m, func() (err error) {
		if out, err = grade.Datagrams(ctx, dut, sender, vethPort, vethOut, vethOutPayload); err != nil {
			return err
		}
		if in, err = grade.Datagrams(ctx, sender, dut, vethPort, vethIn, vethInPayload); err != nil {
			return err
		}
		frames, err = wit.Frames(0)
		return err
	})
	if err = firstErr(actErr, err); err != nil {
		return nil, err
	}
	for _, u := range []grade.Delivered{out, in} {
		if u.Arrived != u.Count || u.Failure != nil {
			return nil, c.undelivered(dut, fmt.Sprintf("udp from %s to %s", u.From.Node, u.Dst), u.String())
		}
	}
	var results []labs.Result
	var sentFrames, recvFrames []witness.Frame
	for _, f := range frames {
		if f.Out {
			sentFrames = append(sentFrames, f)
		} else {
			recvFrames = append(recvFrames, f)
		}
	}
	if env.Options.Bare {
		results = append(results, c.judgeKeptBy(filter, dut.Iface, sentFrames))
	}
	// What the step's program counts for the frames node1 sent (ARP
	// included, should one slip through), and what it would count for
	// those it received.
	want := sentOf(c.ex, fmt.Sprintf("datagrams %s sent", dut.Node), sentFrames, protoUDP)
	recv := sentOf(c.ex, "", recvFrames, protoUDP)
	name := c.named(fmt.Sprintf("on %s/%s, UDP counts the bytes of the %d datagrams %s sends, not of the %d it receives", dut.Node, dut.Iface, vethOut, dut.Node, vethIn),
		fmt.Sprintf("on %s/%s, UDP counts the %d datagrams %s sends and their bytes, not the %d it receives", dut.Node, dut.Iface, vethOut, dut.Node, vethIn))
	r := c.count(name, protoUDP, d, want)
	got := d.bytes[protoUDP]
	switch {
	case r.Pass || c.counted.empty():
	case got == recv.bytes:
		r.Hint = fmt.Sprintf("what %s received on %s was counted, not what it sent: the PACKET_OUTGOING test is inverted: return 0 when skb->pkt_type != PACKET_OUTGOING "+
			"(on lo each packet leaves and comes back in alike, so only %s tells the two apart)%s", dut.Node, dut.Iface, dut.Iface, c.ex.outgoing)
	case got == want.bytes+recv.bytes:
		r.Hint = fmt.Sprintf("both directions were counted on %s: return 0 for every packet whose skb->pkt_type is not PACKET_OUTGOING%s", dut.Iface, c.ex.outgoing)
	}
	return append(results, r), nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// nothingElse judges what the traffic over lo counted under a protocol it
// did not send.
func (c *checker) nothingElse() labs.Result {
	hint := "index my_map by the protocol byte at ETH_HLEN + offsetof(struct iphdr, protocol), and count PACKET_OUTGOING only" + c.ex.key
	if c.stray.bytes.Total() == 0 && c.stray.packets.Total() != 0 {
		return labs.Assert("nothing else is counted", false, "none", c.stray.packets.Format(labs.IPProtoName)+" packets", hint)
	}
	return grade.NothingElse("nothing else is counted", c.stray.bytes, labs.IPProtoName, hint)
}
