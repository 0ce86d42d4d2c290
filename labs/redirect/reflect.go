package redirect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// observation is one Pings step from a sender to a receiver's address,
// recorded by witnesses on both ends that do not depend on the program or on
// who the packets are addressed to.
type observation struct {
	ping     grade.Pinged
	sender   []witness.Frame // IPv4 frames on the sender's interface
	receiver []witness.Frame // ICMP frames on the receiver's interface
}

func observe(ctx context.Context, sender, receiver topology.Place) (*observation, error) {
	opts := witness.Options{EtherType: packet.EtherTypeIPv4}
	sw, err := witness.Open(sender.NS, sender.Iface, opts)
	if err != nil {
		return nil, err
	}
	defer sw.Close()
	rw, err := witness.Open(receiver.NS, receiver.Iface, opts)
	if err != nil {
		return nil, err
	}
	defer rw.Close()
	p, err := grade.Pings(ctx, sender, receiver.Addr.Addr(), pings)
	if err != nil {
		return nil, fmt.Errorf("ping from %s to %s: %w", sender.Node, receiver.Addr.Addr(), err)
	}
	// Both witnesses wait out the same quiet period, side by side: a reply
	// the receiver sends late is caught.
	frames, err := witness.Collect(grade.Quiet, sw, rw)
	if err != nil {
		return nil, err
	}
	o := &observation{ping: p, sender: frames[0]}
	for _, f := range frames[1] {
		if f.Packet.Has(packet.LayerICMPv4) {
			o.receiver = append(o.receiver, f)
		}
	}
	return o, nil
}

// exchanges are the frames the sender's interface must show for each ping
// while the program reflects: its request out, the request reflected in
// (source and destination swapped), its reply to that out, the reply
// reflected in.
func (o *observation) exchanges(src, dst netip.Addr) [][]grade.Step {
	id := uint16(o.ping.ID)
	var want [][]grade.Step
	for seq := uint16(1); seq <= pings; seq++ {
		want = append(want, []grade.Step{
			grade.EchoStep(true, packet.ICMPv4EchoRequest, src, dst, id, seq),
			grade.EchoStep(false, packet.ICMPv4EchoRequest, dst, src, id, seq),
			grade.EchoStep(true, packet.ICMPv4EchoReply, src, dst, id, seq),
			grade.EchoStep(false, packet.ICMPv4EchoReply, dst, src, id, seq),
		})
	}
	return want
}

// reflected lists the sequence numbers of the sender's own echo requests
// that came back to it from dst, as its ping socket saw them.
func (o *observation) reflected(src, dst netip.Addr) []int {
	var seqs []int
	for _, e := range o.ping.Requests {
		if e.From == dst && e.To == src && e.ID == o.ping.ID && !slices.Contains(seqs, e.Seq) {
			seqs = append(seqs, e.Seq)
		}
	}
	slices.Sort(seqs)
	return seqs
}

// ours reports whether a frame carries an echo of this ping.
func (o *observation) ours(f witness.Frame) bool {
	return f.Packet.Has(packet.LayerICMPv4) && int(f.Packet.ICMPv4.ID) == o.ping.ID
}

// receiverSaw counts echo requests arriving at and replies leaving the
// receiver, whose address is dst.
func (o *observation) receiverSaw(dst netip.Addr) (requestsIn, repliesOut int) {
	for _, f := range o.receiver {
		ip, icmp := &f.Packet.IPv4, &f.Packet.ICMPv4
		switch {
		case !f.Out && icmp.Type == packet.ICMPv4EchoRequest && ip.Dst == dst:
			requestsIn++
		case f.Out && icmp.Type == packet.ICMPv4EchoReply && ip.Src == dst:
			repliesOut++
		}
	}
	return requestsIn, repliesOut
}

// frameHint reads the sender's witness for a mistake that shows in the
// frames themselves: echoes of the ping that came back unchanged, with a
// broken IP checksum, or addressed to another MAC than the sender's. It is
// "" when the frames show none of these.
func (o *observation) frameHint(sender topology.Place, dst netip.Addr, ex exercise) string {
	src := sender.Addr.Addr()
	for _, f := range o.sender {
		if f.Out || !o.ours(f) {
			continue
		}
		if h := reflectedFrameHint(f, sender, src, dst, ex); h != "" {
			return h
		}
	}
	return ""
}

// reflectedFrameHint says what is wrong with one frame that came back to
// the sender (at, whose address is src) from a reflection of a packet it
// sent to dst, or "" when nothing is.
func reflectedFrameHint(f witness.Frame, at topology.Place, src, dst netip.Addr, ex exercise) string {
	ip, eth := &f.Packet.IPv4, &f.Packet.Ethernet
	switch {
	case ip.Src == src && ip.Dst == dst:
		return fmt.Sprintf("the packets came back to %s/%s unchanged (%s): swap the IP addresses, source %s and destination %s, before redirecting%s",
			at.Node, at.Iface, f.Packet.Summary(), dst, src, ex.rewrite)
	case ip.Src != dst || ip.Dst != src:
		return ""
	case !ipChecksumValid(f.Data):
		return fmt.Sprintf("the reflected packets reach %s/%s with a wrong IP header checksum, so its kernel drops them: the program changed the IP header (the TTL?) without updating the checksum; swapping the addresses alone needs no checksum change%s",
			at.Node, at.Iface, ex.rewrite)
	case bytes.Equal(eth.Dst, make([]byte, 6)):
		return fmt.Sprintf("the reflected frames reach %s/%s addressed to MAC 00:00:00:00:00:00: fib.dmac is empty when the lookup did not succeed; redirect only after BPF_FIB_LKUP_RET_SUCCESS%s", at.Node, at.Iface, ex.verdict)
	case len(at.MAC) > 0 && !bytes.Equal(eth.Dst, at.MAC):
		return fmt.Sprintf("the reflected frames reach %s/%s addressed to MAC %s, not to its own %s, so its kernel drops them: "+
			"copy the lookup's dmac into h_dest and smac into h_source of the Ethernet header%s", at.Node, at.Iface, eth.Dst, at.MAC, ex.rewrite)
	}
	return ""
}

// ipChecksumValid reports whether an Ethernet frame's IPv4 header sums to
// all ones, as a receiving kernel requires.
func ipChecksumValid(frame []byte) bool {
	if len(frame) < 14+20 {
		return false
	}
	ihl := int(frame[14]&0x0f) * 4
	if ihl < 20 || len(frame) < 14+ihl {
		return false
	}
	var sum uint32
	for i := 14; i < 14+ihl; i += 2 {
		sum += uint32(frame[i])<<8 | uint32(frame[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum == 0xffff
}

// wrongWayHint is the hint when echoes of the ping left node1 towards the
// receiver already turned around (source and destination swapped): the
// lookup asked the way to the packet's destination instead of the way back.
// It is "" when the receiver saw no such frame.
func (o *observation) wrongWayHint(sender, dut, receiver topology.Place, ex exercise) string {
	src, dst := sender.Addr.Addr(), receiver.Addr.Addr()
	for _, f := range o.receiver {
		if !f.Out && o.ours(f) && f.Packet.IPv4.Src == dst && f.Packet.IPv4.Dst == src {
			return fmt.Sprintf("the packets, turned around (%s), left %s towards %s instead of going back to %s: the lookup asked the way to the packet's destination; ask for the way back: ipv4_src = ip->daddr, ipv4_dst = ip->saddr%s",
				f.Packet.Summary(), dut.Node, receiver.Node, sender.Node, ex.lookup)
		}
	}
	return ""
}

// passedOnHint is the hint when the echo requests reached the receiver:
// the program passed them and the dut routed them on. It is "" when none
// arrived there.
func (o *observation) passedOnHint(dut, receiver topology.Place) string {
	in, _ := o.receiverSaw(receiver.Addr.Addr())
	if in == 0 {
		return ""
	}
	return fmt.Sprintf("the echo requests went on to %s (%d of %d arrived there): the program passed them to %s's kernel, which routed them; "+
		"reflect ICMP back to where it came from instead", receiver.Node, in, pings, dut.Node)
}

// vanishedHint is the hint when nothing of the ping came back to the sender
// and nothing reached the receiver. It is "" when something did.
func (o *observation) vanishedHint(sender, dut, receiver topology.Place) string {
	if slices.ContainsFunc(o.sender, func(f witness.Frame) bool { return !f.Out && o.ours(f) }) || len(o.receiver) > 0 {
		return ""
	}
	return fmt.Sprintf("the echo requests went into %s/%s and came out nowhere, neither back to %s nor on to %s: "+
		"the program dropped them (XDP_DROP, or XDP_ABORTED from a failed bpf_redirect_map) or redirected them out of an interface that does not lead back",
		dut.Node, dut.Iface, sender.Node, receiver.Node)
}

func seqList(seqs []int) string {
	if len(seqs) == 0 {
		return "none"
	}
	s := make([]string, len(seqs))
	for i, v := range seqs {
		s[i] = fmt.Sprint(v)
	}
	return fmt.Sprintf("%d (seq %s)", len(seqs), strings.Join(s, ","))
}

// first is the first non-empty hint.
func first(hints ...string) string {
	for _, h := range hints {
		if h != "" {
			return h
		}
	}
	return ""
}

// reflect pings the receiver's address from the sender, whose packets
// enter node1 through via: node1 must reflect every echo request and every
// echo reply, and the receiver must see none of them.
func (c *checker) reflect(sender, via, receiver topology.Place) error {
	src, dst := sender.Addr.Addr(), receiver.Addr.Addr()
	var o *observation
	d, err := c.measure(func() (err error) {
		o, err = observe(c.ctx, sender, receiver)
		return err
	})
	if err != nil {
		return err
	}
	// The most specific evidence first: pings that could not be sent,
	// frames that show the mistake, then what the program counted, then
	// where the pings went.
	if h := o.wrongWayHint(sender, via, receiver, c.ex); h != "" && c.wrongWay == "" {
		c.wrongWay = h
	}
	hint := first(o.ping.NotSentHint(c.env), o.frameHint(sender, dst, c.ex), o.wrongWayHint(sender, via, receiver, c.ex))
	if hint == "" && d != nil {
		if lookups(d) == 0 && o.passedOnHint(via, receiver) != "" {
			hint = c.ex.nothing
		} else {
			hint = explain(d, c.sit)
		}
	}
	hint = first(hint, o.passedOnHint(via, receiver), o.vanishedHint(sender, via, receiver), fallbackHint)
	seqs := o.reflected(src, dst)
	if len(seqs) == pings && o.ping.Received < pings && o.ping.NotSentHint(c.env) == "" {
		// The requests came back, the replies did not: that is the
		// mistake, whatever else the frames show.
		hint = fmt.Sprintf("the requests come back but %s's replies to them do not: reflect every ICMP packet, echo replies too, not only echo requests", sender.Node)
	}
	all := make([]int, pings)
	for i := range all {
		all[i] = i + 1
	}
	c.add(labs.Expect(
		fmt.Sprintf("%s gets its %d echo requests back from %s, same id and seq", sender.Node, pings, dst),
		seqList(all), seqList(seqs), hint))

	// Replies count only when they are the sender's own, reflected: the
	// receiver answering requests the program passed on is not that.
	in, _ := o.receiverSaw(dst)
	observed := o.ping.String()
	if in > 0 {
		observed += fmt.Sprintf("; %s got %d of the echo requests and answered them itself", receiver.Node, in)
	}
	c.add(labs.Assert(fmt.Sprintf("%s's ping counts %d replies from %s (its own replies, reflected)", sender.Node, pings, dst),
		o.ping.Received == pings && o.ping.Failure == nil && in == 0, fmt.Sprintf("%d replies", pings), observed, hint))

	c.add(grade.NoFrames(fmt.Sprintf("%s receives no ICMP of %s's pings", receiver.Node, sender.Node), o.receiver,
		first(o.wrongWayHint(sender, via, receiver, c.ex), hint)))

	each := fmt.Sprintf("out %[1]s > %[2]s echo request, in %[2]s > %[1]s echo request, out %[1]s > %[2]s echo reply, in %[2]s > %[1]s echo reply", src, dst)
	c.add(grade.FrameSequences(
		fmt.Sprintf("%s/%s shows the 4-packet sequence for each ping", sender.Node, sender.Iface),
		each, o.exchanges(src, dst), o.sender, hint))

	if d != nil {
		want := grade.Counters[uint32]{fibSuccess: 2 * pings, actionRedirect: 2 * pings}
		countHint := hint
		if len(seqs) == pings && d[fibSuccess] == 2*pings && d[actionRedirect] < 2*pings {
			// Reflected, yet not (all) by bpf_redirect_map: the right
			// outcome by another way.
			countHint = fmt.Sprintf("the packets came back, but bpf_redirect_map(&%s, fib.ifindex, 0) did not return XDP_REDIRECT for each of them: send them through the DEVMAP, not with XDP_TX or bpf_redirect, and count what bpf_redirect_map returned%s",
				mapRedirect, c.ex.redirect)
		}
		c.add(labs.Assert(
			fmt.Sprintf("fib_results for %s's pings: every lookup SUCCESS, every packet redirected", sender.Node),
			maps.Equal(d, want), want.Format(ResultName), d.Format(ResultName), countHint))
	}
	return nil
}

// withoutProgram pings the receiver from the sender with xdp_pass swapped
// into node1's pinned links in xdp_test's place: node2 must answer, since
// the network works without the program. xdp_test goes back whatever
// happens. A bare lab has no pinned links: the learner's loader holds the
// attachment, which the check leaves alone, so this is skipped there.
func (c *checker) withoutProgram(ch checkChange) error {
	sender, dut, receiver := c.sender, c.dut, c.receiver
	dst := receiver.Addr.Addr()
	at := receiver.Node + "/" + receiver.Iface
	name := fmt.Sprintf("without %s, %d pings %s -> %s are answered by %s", progName, pings, sender.Node, dst, receiver.Node)
	expected := fmt.Sprintf("%d replies; %s: %d requests in, %d replies out", pings, at, pings, pings)
	if !ch.Swapped {
		c.add(labs.Skip(name, expected,
			"in a bare lab your loader holds the attachment on node1's interfaces, and the check does not take your program off them to see the network work without it; a lab up without --bare (with --obj for your object) checks this too"))
		return nil
	}
	sw, err := openSwapper(c.env)
	if err != nil {
		return err
	}
	defer sw.Close()
	if err := sw.use(sw.pass); err != nil {
		return errors.Join(err, sw.restore())
	}
	before, err := observe(c.ctx, sender, receiver)
	if rerr := sw.restore(); rerr != nil {
		return errors.Join(err, rerr)
	}
	if err != nil {
		return err
	}
	in, out := before.receiverSaw(dst)
	hint := fmt.Sprintf("without the program %s routes between %s and %s by itself; this failing means the topology is broken, not your program: %s",
		dut.Node, sender.Node, receiver.Node, c.sit.rebuild)
	if h := before.ping.NotSentHint(c.env); h != "" {
		hint = h
	}
	if c.sit.forward != "1" {
		hint = fmt.Sprintf("ip_forward is off in %s (net.ipv4.ip_forward = %s there), so %s does not route between %s and %s; the lab sets it to 1: %s",
			dut.Node, c.sit.forward, dut.Node, sender.Node, receiver.Node, c.sit.rebuild)
	}
	ok := before.ping.Received == pings && before.ping.Failure == nil && in == pings && out == pings
	if !ok {
		c.broken = hint
	}
	c.add(labs.Assert(name, ok, expected, fmt.Sprintf("%s; %s: %d requests in, %d replies out", before.ping, at, in, out), hint))
	return nil
}
