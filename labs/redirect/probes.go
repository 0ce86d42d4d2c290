package redirect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Echo identifiers of the frames the check writes itself, one per phase,
// so that a capture tells the phases apart.
const (
	idCrossed = 0x7801
	idEmptied = 0x7802
	idNoNeigh = 0x7803
)

// watchpoint is a witness of the frames a place receives during a probe.
type watchpoint struct {
	at topology.Place
	// expect, when set, picks the frames that should arrive here: the
	// probe waits for each up to grade.Arrival before the quiet period.
	expect []func(witness.Frame) bool
	// frames is what arrived.
	frames []witness.Frame
}

// probe writes frames out of from's interface, as if from's stack sent
// them, and records what each watchpoint receives meanwhile.
func (c *checker) probe(from topology.Place, etherType uint16, frames [][]byte, wps ...*watchpoint) error {
	var ws []*witness.Witness
	defer func() {
		for _, w := range ws {
			w.Close()
		}
	}()
	for _, wp := range wps {
		w, err := witness.Open(wp.at.NS, wp.at.Iface, witness.Options{EtherType: etherType, Direction: witness.In})
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	for _, f := range frames {
		if err := witness.Send(from.NS, from.Iface, etherType, f); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, grade.Arrival)
	defer cancel()
	for i, wp := range wps {
		for _, match := range wp.expect {
			if _, _, err := ws[i].Await(ctx, match); err != nil {
				return err
			}
		}
	}
	got, err := witness.Collect(grade.Quiet, ws...)
	if err != nil {
		return err
	}
	for i, wp := range wps {
		wp.frames = got[i]
	}
	return c.ctx.Err()
}

// echoes builds pings crafted echo requests, seq 1 to pings.
func echoes(srcMAC, dstMAC []byte, src, dst netip.Addr, id uint16) ([][]byte, error) {
	var out [][]byte
	for seq := uint16(1); seq <= pings; seq++ {
		f, err := packet.ICMPv4Echo{SrcMAC: srcMAC, DstMAC: dstMAC, Src: src, Dst: dst, ID: id, Seq: seq, Payload: make([]byte, 56)}.Bytes()
		if err != nil {
			return nil, fmt.Errorf("build echo request: %w", err)
		}
		out = append(out, f)
	}
	return out, nil
}

// isEcho matches an echo request with this id from src to dst.
func isEcho(id uint16, src, dst netip.Addr) func(witness.Frame) bool {
	return func(f witness.Frame) bool {
		p := &f.Packet
		return p.Has(packet.LayerICMPv4) && p.ICMPv4.Type == packet.ICMPv4EchoRequest && p.ICMPv4.ID == id &&
			p.IPv4.Src == src && p.IPv4.Dst == dst
	}
}

// awaitEchoes is a watchpoint at a place that waits for the echo requests
// with this id, seq 1 to pings, from src to dst.
func awaitEchoes(at topology.Place, id uint16, src, dst netip.Addr) *watchpoint {
	wp := &watchpoint{at: at}
	echo := isEcho(id, src, dst)
	for seq := uint16(1); seq <= pings; seq++ {
		wp.expect = append(wp.expect, func(f witness.Frame) bool { return echo(f) && f.Packet.ICMPv4.Seq == seq })
	}
	return wp
}

// anyEcho matches an echo request with this id, whatever its addresses.
func anyEcho(id uint16) func(witness.Frame) bool {
	return func(f witness.Frame) bool {
		p := &f.Packet
		return p.Has(packet.LayerICMPv4) && p.ICMPv4.Type == packet.ICMPv4EchoRequest && p.ICMPv4.ID == id
	}
}

func filter(frames []witness.Frame, match func(witness.Frame) bool) []witness.Frame {
	var out []witness.Frame
	for _, f := range frames {
		if match(f) {
			out = append(out, f)
		}
	}
	return out
}

// describe lists frames in one line, each with its Ethernet addresses,
// the first few only.
func describe(frames []witness.Frame) string {
	if len(frames) == 0 {
		return "none"
	}
	var s []string
	for i, f := range frames {
		if i == 3 {
			s = append(s, fmt.Sprintf("and %d more", len(frames)-3))
			break
		}
		s = append(s, fmt.Sprintf("%s (Ethernet %s > %s)", f.Packet.Summary(), f.Packet.Ethernet.Src, f.Packet.Ethernet.Dst))
	}
	return fmt.Sprintf("%d: %s", len(frames), strings.Join(s, "; "))
}

// crossed writes echo requests from the receiver's address into node1's
// veth1, from the sender's link: node1's way back to that address leaves
// through veth2, so a program that redirects where the lookup says sends
// them to the receiver, turned around. One that sends packets back out of
// the interface they came in on (ctx->ingress_ifindex, a fixed ifindex,
// XDP_TX) shows itself here, though it reflects pings right.
func (c *checker) crossed() error {
	from, via, out, to := c.sender, c.dut, c.dutOut, c.receiver
	host, far := from.Addr.Addr(), to.Addr.Addr()
	frames, err := echoes(from.MAC, via.MAC, far, host, idCrossed)
	if err != nil {
		return err
	}
	atTo, atFrom := awaitEchoes(to, idCrossed, host, far), &watchpoint{at: from}
	d, err := c.measure(func() error { return c.probe(from, packet.EtherTypeIPv4, frames, atTo, atFrom) })
	if err != nil {
		return err
	}
	right := filter(atTo.frames, func(f witness.Frame) bool {
		return isEcho(idCrossed, host, far)(f) && bytes.Equal(f.Packet.Ethernet.Dst, to.MAC) && bytes.Equal(f.Packet.Ethernet.Src, out.MAC)
	})
	back := filter(atFrom.frames, anyEcho(idCrossed))
	observed := fmt.Sprintf("%d of %d", len(right), pings)
	if wrong := filter(atTo.frames, anyEcho(idCrossed)); len(wrong) > len(right) {
		observed += fmt.Sprintf("; at %s/%s: %s", to.Node, to.Iface, describe(wrong))
	}
	if len(back) > 0 {
		observed += fmt.Sprintf("; back at %s/%s: %s", from.Node, from.Iface, describe(back))
	}

	var hint string
	switch {
	case c.wrongWay != "" && len(right) < pings:
		hint = c.wrongWay
	case len(filter(back, isEcho(idCrossed, host, far))) > 0:
		hint = fmt.Sprintf("the program sent them back out of %s/%s, the interface they came in on, though the lookup's way back to %s leaves through %s/%s: "+
			"redirect to fib.ifindex, the interface the lookup chose, not to ctx->ingress_ifindex or a fixed ifindex, and not with XDP_TX%s",
			via.Node, via.Iface, far, out.Node, out.Iface, c.ex.redirect)
	case len(filter(atTo.frames, isEcho(idCrossed, host, far))) > 0:
		hint = reflectedFrameHint(filter(atTo.frames, isEcho(idCrossed, host, far))[0], to, far, host, c.ex)
	case len(back) > 0 && d != nil && lookups(d) == 0:
		hint = c.ex.nothing
	case len(back) > 0:
		hint = fmt.Sprintf("the program passed them to %s's kernel, which routed them back to %s: look up the way back and redirect to the interface the lookup chose%s", via.Node, from.Node, c.ex.redirect)
	case d != nil:
		hint = explain(d, c.sit)
	}
	hint = first(hint, fmt.Sprintf("they came out nowhere: redirect them to fib.ifindex, the interface the lookup chose%s", c.ex.redirect))
	c.add(labs.Assert(
		fmt.Sprintf("echo requests from %s arriving on %s/%s leave through %s/%s, where the lookup's way back goes", far, via.Node, via.Iface, out.Node, out.Iface),
		len(right) == pings && len(back) == 0,
		fmt.Sprintf("%d of %d at %s/%s, as %s > %s echo requests from %s to %s", pings, pings, to.Node, to.Iface, host, far, out.MAC, to.MAC),
		observed, hint))
	return nil
}

// emptyDevmap empties if_redirect for a moment and writes echo requests
// (and in the udp step a datagram) from the sender to the receiver: with no
// interface in the DEVMAP, bpf_redirect_map cannot send them anywhere, so
// nothing may come back. A program that reflects with XDP_TX or
// bpf_redirect (the right outcome, without the DEVMAP the lab teaches)
// shows itself here.
func (c *checker) emptyDevmap(ch checkChange) error {
	from, via, to := c.sender, c.dut, c.receiver
	host, far := from.Addr.Addr(), to.Addr.Addr()
	name := fmt.Sprintf("with %s emptied for a moment, nothing %s sends to %s comes back", mapRedirect, from.Node, far)
	if ch.DevmapWhy != "" {
		c.add(labs.Skip(name, "none", ch.DevmapWhy))
		return nil
	}
	frames, err := echoes(from.MAC, via.MAC, host, far, idEmptied)
	if err != nil {
		return err
	}
	if c.ex.udp {
		dgram, err := c.datagram(from, via, to, udpProbePayload("emptied"))
		if err != nil {
			return err
		}
		frames = append(frames, dgram)
	}
	atFrom := &watchpoint{at: from}
	var d grade.Counters[uint32]
	err = setDevmap(c.env, ch.Devmap, true)
	if err == nil {
		d, err = c.measure(func() error { return c.probe(from, packet.EtherTypeIPv4, frames, atFrom) })
	}
	if rerr := setDevmap(c.env, ch.Devmap, false); err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	back := filter(atFrom.frames, func(f witness.Frame) bool {
		return anyEcho(idEmptied)(f) || carries(f, udpProbePayload("emptied"))
	})
	how := "XDP_TX or bpf_redirect"
	if d[actionTX] > 0 {
		how = "XDP_TX"
	}
	hint := fmt.Sprintf("with %s empty, bpf_redirect_map(&%s, fib.ifindex, 0) has no interface to send to and returns XDP_ABORTED, yet packets came back: "+
		"the program reflects without the DEVMAP (%s); send them with bpf_redirect_map through %s%s",
		mapRedirect, mapRedirect, how, mapRedirect, c.ex.redirect)
	c.add(labs.Assert(name, len(back) == 0, "none", describe(back), hint))
	return nil
}

// noNeighbour deletes node1's neighbour entry for the sender for a moment
// and writes echo requests (and in the udp step a datagram) from the sender
// to the receiver: the lookup answers NO_NEIGH, the tutorial's program
// passes them to the kernel, which routes them on to the receiver
// unchanged. A verdict that ignores the lookup's answer shows itself here.
func (c *checker) noNeighbour(ch checkChange) error {
	from, via, to := c.sender, c.dut, c.receiver
	host, far := from.Addr.Addr(), to.Addr.Addr()
	name := fmt.Sprintf("with %s's neighbour entry for %s removed (lookup NO_NEIGH), %d echo requests %s -> %s go on to %s unchanged",
		via.Node, host, pings, from.Node, far, to.Node)
	if ch.Neighbour == nil {
		c.add(labs.Skip(name, fmt.Sprintf("%d of %d", pings, pings),
			fmt.Sprintf("%s has no neighbour entry for %s to remove: the reflection phases above say what that does; %s", via.Node, host, c.sit.rebuild)))
		return nil
	}
	frames, err := echoes(from.MAC, via.MAC, host, far, idNoNeigh)
	if err != nil {
		return err
	}
	atTo := awaitEchoes(to, idNoNeigh, host, far)
	payload := udpProbePayload("noneigh")
	if c.ex.udp {
		dgram, err := c.datagram(from, via, to, payload)
		if err != nil {
			return err
		}
		frames = append(frames, dgram)
		atTo.expect = append(atTo.expect, func(f witness.Frame) bool { return carries(f, payload) })
	}
	atFrom := &watchpoint{at: from}
	var d grade.Counters[uint32]
	err = ch.Neighbour.delete(c.env)
	if err == nil {
		d, err = c.measure(func() error { return c.probe(from, packet.EtherTypeIPv4, frames, atTo, atFrom) })
	}
	if rerr := ch.Neighbour.restore(c.env); err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	arrived := filter(atTo.frames, isEcho(idNoNeigh, host, far))
	back := filter(atFrom.frames, func(f witness.Frame) bool { return anyEcho(idNoNeigh)(f) || carries(f, payload) })
	observed := fmt.Sprintf("%d of %d", len(arrived), pings)
	if len(back) > 0 {
		observed += fmt.Sprintf("; back at %s/%s: %s", from.Node, from.Iface, describe(back))
	}
	var hint string
	switch {
	case d != nil && d[fibFwdDisabled] > 0:
		hint = explain(d, c.sit)
	case d != nil && d[fibNoNeigh] == 0 && lookups(d) > 0:
		hint = fmt.Sprintf("the lookups answered %s, not NO_NEIGH: the lookup must ask for the way back to the sender (ipv4_dst = ip->saddr), whose neighbour entry is the one removed%s",
			d.Except(actionAborted, actionDrop, actionPass, actionTX, actionRedirect).Format(ResultName), c.ex.lookup)
	case d == nil && c.wrongWay != "":
		hint = c.wrongWay
	case len(back) > 0:
		hint = fmt.Sprintf("the program redirected them although the lookup answered NO_NEIGH (fib.dmac is all zeros then): return XDP_PASS on BPF_FIB_LKUP_RET_NO_NEIGH, so that %s's kernel resolves the neighbour, and redirect only on BPF_FIB_LKUP_RET_SUCCESS%s", via.Node, c.ex.verdict)
	case len(filter(atTo.frames, anyEcho(idNoNeigh))) > 0:
		hint = fmt.Sprintf("they reached %s changed (%s): the program changed them before acting on the lookup's answer; on NO_NEIGH pass them untouched%s", to.Node, describe(filter(atTo.frames, anyEcho(idNoNeigh))), c.ex.verdict)
	default:
		hint = fmt.Sprintf("they came out nowhere: the program dropped them on NO_NEIGH; return XDP_PASS for BPF_FIB_LKUP_RET_NO_NEIGH (%s's kernel resolves the neighbour and routes the packet) and XDP_DROP only for the other failures%s", via.Node, c.ex.verdict)
	}
	c.add(labs.Assert(name, len(arrived) == pings && len(back) == 0, fmt.Sprintf("%d of %d", pings, pings), observed, hint))
	if c.ex.udp {
		c.add(c.udpPassedOn(atTo, via, to, payload, d))
	}
	return nil
}

// othersPass sends what the step does not reflect from the sender to the
// receiver: UDP (but in the udp step) and TCP must go through node1's
// kernel as if the program were not there.
func (c *checker) othersPass() error {
	from, via, to := c.sender, c.dut, c.receiver
	reflected := "ICMP"
	if c.ex.udp {
		reflected = "ICMP and UDP"
	}
	passHint := func(what string, d grade.Counters[uint32], where string) string {
		if c.broken != "" {
			return "node1 does not route this even without the program: " + c.broken
		}
		if d != nil && lookups(d) > 0 {
			return fmt.Sprintf("the program looked up (and turned around) the %s too: reflect only %s, and return XDP_PASS for every other protocol%s", what, reflected, where)
		}
		return fmt.Sprintf("the program must pass everything but %s to %s's kernel, which routes it on to %s%s", reflected, via.Node, to.Node, where)
	}
	if !c.ex.udp {
		var dg grade.Delivered
		d, err := c.measure(func() (err error) {
			dg, err = grade.Datagrams(c.ctx, from, to, udpPort, pings, 32)
			return err
		})
		if err != nil {
			return err
		}
		c.add(grade.DatagramsArrived("", dg, first(c.notSentHint(from, dg.Failure), passHint("datagrams", d, ""))))
	}
	var tcp grade.Exchanged
	d, err := c.measure(func() (err error) {
		tcp, err = grade.TCPExchange(c.ctx, from, to, tcpPort, []byte("hello xdplab\n"))
		return err
	})
	if err != nil {
		return err
	}
	var local error
	if errors.Is(tcp.Failure, unix.ENETUNREACH) {
		local = tcp.Failure // refused by the sender's own stack: no route
	}
	c.add(grade.TCPExchanged("", tcp, first(c.notSentHint(from, local), passHint("TCP segments", d, c.ex.protocols))))
	return nil
}

// notSentHint is the hint for traffic that the sender's own stack refused
// to send (failure, nil when it sent everything): the program never saw it,
// so the hint blames the lab's network, as grade.Pinged.NotSentHint does.
func (c *checker) notSentHint(from topology.Place, failure error) string {
	if failure == nil {
		return ""
	}
	return fmt.Sprintf("sending from %s failed (%v), so your program never saw it: the lab's network is not as up left it: %s", from.Node, failure, c.sit.rebuild)
}

// notIPv4Passes writes frames that are not IPv4 into node1's veth1: an
// IPv6 frame whose bytes, read as IPv4, look like ICMP from the receiver to
// the sender (a program that skips the EtherType check reflects it), and,
// unless the arp step answers ARP itself, an ARP request for node1's
// address. Both must reach node1's kernel.
func (c *checker) notIPv4Passes() error {
	from, via, to := c.sender, c.dut, c.receiver
	// An IPv6 source whose bytes 1, 4-7 and 8-11 read, at IPv4's offsets
	// 9, 12-15 and 16-19, as protocol ICMP from the receiver to the sender.
	var src [16]byte
	src[0], src[1] = 0xfd, packet.ProtoICMPv4
	far, host := to.Addr.Addr().As4(), from.Addr.Addr().As4()
	copy(src[4:8], far[:])
	copy(src[8:12], host[:])
	src[15] = 1
	v6, err := packet.ICMPv6Echo{SrcMAC: from.MAC, DstMAC: via.MAC, Src: netip.AddrFrom16(src), Dst: netip.MustParseAddr("fd00::2"),
		ID: idCrossed, Seq: 1, Payload: make([]byte, 56)}.Bytes()
	if err != nil {
		return fmt.Errorf("build ipv6 frame: %w", err)
	}
	var w grade.Written
	d, err := c.measure(func() (err error) {
		w, err = grade.Frames(c.ctx, from, via, "1 IPv6 frame", packet.EtherTypeIPv6, [][]byte{v6})
		return err
	})
	if err != nil {
		return err
	}
	hint := fmt.Sprintf("the program must pass what is not IPv4: check eth->h_proto == bpf_htons(ETH_P_IP) before reading an IPv4 header; this IPv6 frame's bytes, read as IPv4, look like ICMP from %s to %s", to.Addr.Addr(), from.Addr.Addr())
	if d != nil && lookups(d) > 0 {
		hint = "the program took this IPv6 frame for IPv4 and looked it up (" + d.Format(ResultName) + "): " + hint
	}
	c.add(grade.FramesArrived("", w, hint))
	if c.ex.arp {
		return nil // the arp step answers ARP itself: its own phases judge it
	}
	req, err := packet.ARPFrame{SrcMAC: from.MAC, DstMAC: packet.Broadcast, Operation: packet.ARPRequest,
		SenderHW: from.MAC, SenderIP: from.Addr.Addr(), TargetIP: via.Addr.Addr()}.Bytes()
	if err != nil {
		return fmt.Errorf("build arp request: %w", err)
	}
	w, err = grade.Frames(c.ctx, from, via, "1 ARP request", packet.EtherTypeARP, [][]byte{req})
	if err != nil {
		return err
	}
	c.add(grade.FramesArrived("", w, "ARP must reach node1's kernel, which answers it: return XDP_PASS for every frame that is not IPv4 (eth->h_proto != bpf_htons(ETH_P_IP))"))
	return nil
}
