package packetcounter

import (
	"fmt"
	"strings"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// judge turns what the traffic steps saw into expectations, in the order
// the steps ran. What an interrupted check never sent is not judged.
func (c *checker) judge() []labs.Result {
	var rs []labs.Result
	if c.icmp.ran {
		rs = append(rs, c.judgePings()...)
	}
	if c.udp4.ran {
		rs = append(rs, c.judgeUDP()...)
	}
	if c.tcp4.ran {
		rs = append(rs, c.judgeTCP()...)
	}
	for _, p := range c.v6 {
		rs = append(rs, c.judgeIPv6(p)...)
	}
	if c.finished() {
		rs = append(rs, c.judgeProbes()...)
		rs = append(rs, c.nothingElse())
	}
	return rs
}

// hinted gives a failed result its hint. The hint is worked out only then:
// it may run the program again for evidence.
func hinted(r labs.Result, hint func() string) labs.Result {
	if !r.Pass {
		r.Hint = hint()
	}
	return r
}

func (c *checker) judgePings() []labs.Result {
	ex := c.ex
	var rs []labs.Result
	if ex.dropICMP {
		rs = append(rs, hinted(grade.PingsUnanswered("", c.ping, ""), c.answeredHint))
	} else {
		rs = append(rs, hinted(grade.PingsAnswered("", c.ping, ""), func() string {
			return c.passHint(c.icmp, "the program must return XDP_PASS for ICMP; if it drops, node1 never sees the echo requests"+ex.pass)
		}))
	}
	rs = append(rs, hinted(grade.ExactCount(fmt.Sprintf("IPPROTO_ICMP counts the %d echo requests", pings), uint64(pings), c.icmp.delta[protoICMP], ""),
		func() string { return c.countHint(c.icmp) }))
	if ex.dropICMP {
		rs = append(rs, c.dropVerdict())
	}
	return rs
}

func (c *checker) judgeUDP() []labs.Result {
	fallback := "the program must return XDP_PASS for UDP too: a datagram it drops never reaches node1's socket" + c.ex.pass
	if c.ex.dropICMP {
		fallback = "drop ICMP only: UDP must get XDP_PASS, or node1's socket never has the datagrams" + c.ex.pass
	}
	return []labs.Result{
		hinted(grade.DatagramsArrived("", c.udp, ""), func() string { return c.passHint(c.udp4, fallback) }),
		hinted(grade.ExactCount(fmt.Sprintf("IPPROTO_UDP counts the %d datagrams", datagrams), uint64(datagrams), c.udp4.delta[protoUDP], ""),
			func() string { return c.countHint(c.udp4) }),
	}
}

// judgeTCP counts the segments exactly: the witness on the sender saw
// each one the program saw, however many delayed ACKs made.
func (c *checker) judgeTCP() []labs.Result {
	fallback := "the program must return XDP_PASS for TCP too, or the connection never completes" + c.ex.pass
	if c.ex.dropICMP {
		fallback = "drop ICMP only: TCP must get XDP_PASS, or the connection never completes" + c.ex.pass
	}
	rs := []labs.Result{hinted(grade.TCPExchanged("", c.tcp, ""), func() string { return c.passHint(c.tcp4, fallback) })}
	got, n := c.tcp4.delta[protoTCP], uint64(len(c.tcp4.frames))
	if n == 0 {
		// Nothing left the sender to count exactly: the SPEC's own bound.
		return append(rs, hinted(grade.AtLeast("IPPROTO_TCP counts the TCP exchange", 1, got, ""),
			func() string { return c.unsentHint("TCP segment", c.ex.nothing) }))
	}
	return append(rs, hinted(grade.ExactCount(fmt.Sprintf("IPPROTO_TCP counts the %d segments %s sent", n, c.sender.Node), n, got, ""),
		func() string { return c.countHint(c.tcp4) }))
}

func (c *checker) judgeIPv6(p phase) []labs.Result {
	n := uint64(len(p.frames))
	return []labs.Result{
		hinted(grade.FramesArrived("", p.written, ""), func() string {
			return c.passHint(p, "the program must return XDP_PASS for IPv6 packets too, counted or not"+c.ex.header6)
		}),
		hinted(grade.ExactCount(fmt.Sprintf("%s counts the %s", labs.IPProtoName(p.proto), p.sent()), n, p.delta[p.proto], ""),
			func() string { return c.countHint(p) }),
	}
}

// dropVerdict runs the program again on the echo requests the sender sent
// (the drop_icmp step): unanswered pings prove a drop, not that it was
// XDP_DROP rather than XDP_ABORTED, or XDP_TX bouncing them back.
func (c *checker) dropVerdict() labs.Result {
	frames := c.icmp.frames
	name := fmt.Sprintf("the echo requests %s sent get XDP_DROP (BPF_PROG_TEST_RUN)", c.sender.Node)
	if len(frames) == 0 {
		return labs.Assert(name, false, "XDP_DROP", "no echo request left "+c.sender.Node,
			c.unsentHint("echo request", "the pings never left: "+c.ping.String()))
	}
	v, err := c.run(frames)
	if err != nil {
		return labs.Skip(name, "XDP_DROP", fmt.Sprintf("the program could not be run on them: %v", err))
	}
	r := labs.Assert(name, v.All(grade.XDPDrop), "XDP_DROP", v.String(), "")
	if r.Pass {
		return r
	}
	a, _ := v.Not(grade.XDPDrop)
	switch a {
	case grade.XDPPass:
		r.Hint = "the program passes echo requests: return XDP_DROP when ip->protocol is IPPROTO_ICMP"
	case grade.XDPAborted:
		r.Hint = "the echo requests go to XDP_ABORTED: it discards them too, but it is the action for a program error " +
			"(it fires the xdp:xdp_exception tracepoint, and `return 0` is XDP_ABORTED); return XDP_DROP for ICMP"
	case grade.XDPTx:
		r.Hint = "XDP_TX sends each echo request back out of veth1 to the host instead of dropping it; return XDP_DROP for ICMP"
	default:
		r.Hint = fmt.Sprintf("%s does not drop the echo requests; return XDP_DROP for ICMP", a)
	}
	r.Hint += c.ex.drop
	return r
}

// judgeProbes expects every probe to arrive and none to be counted (a
// tagged packet may count under its inner protocol).
func (c *checker) judgeProbes() []labs.Result {
	n := len(c.probed)
	noun := "not whole IPv4 packets"
	if c.ex.ipv6 {
		noun = "neither whole IPv4 nor whole IPv6 packets"
	}
	var missing []probed
	var lost, failed []string
	for _, r := range c.probed {
		if r.seen.Arrived == 0 {
			missing, lost = append(missing, r), append(lost, r.what)
		}
		if r.seen.Failure != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", r.what, r.seen.Failure))
		}
	}
	observed := fmt.Sprintf("%d of %d arrived", n-len(missing), n)
	if len(lost) > 0 {
		observed += "; missing: " + strings.Join(lost, ", ")
	}
	if len(failed) > 0 {
		observed += "; writing failed: " + strings.Join(failed, "; ")
	}
	arrive := hinted(labs.Assert(fmt.Sprintf("%d frames that are %s arrive", n, noun), len(missing) == 0 && len(failed) == 0,
		fmt.Sprintf("%d of %d arrived", n, n), observed, ""), func() string { return c.probePassHint(missing) })

	var counted []string
	for _, r := range c.probed {
		if !r.allowed() {
			counted = append(counted, r.what+": "+r.delta.Format(labs.IPProtoName))
		}
	}
	observed = "none"
	if len(counted) > 0 {
		observed = strings.Join(counted, "; ")
	}
	uncounted := hinted(labs.Assert(fmt.Sprintf("%d frames that are %s are not counted", n, noun), len(counted) == 0,
		"none (the 802.1Q-tagged packet may count once under its inner protocol, IPPROTO_UDP)", observed, ""), c.probeCountHint)
	return []labs.Result{arrive, uncounted}
}

// allowed reports whether what a probe counted is right: nothing, or for
// the tagged packet one under its inner protocol.
func (r probed) allowed() bool {
	if r.delta.Total() == 0 {
		return true
	}
	return r.kind == probeVLAN && r.delta.Total() == 1 && r.delta[r.inner] == 1
}

// nothingElse judges the keys no traffic step was meant to move.
func (c *checker) nothingElse() labs.Result {
	keys := []uint32{protoICMP, protoTCP, protoUDP}
	hint := "only IPv4 packets have ip->protocol; check the EtherType is ETH_P_IP before reading the IP header" + c.ex.header
	if c.ex.ipv6 {
		keys = append(keys, protoICMPv6)
		hint = "count IPv4 packets under ip->protocol and IPv6 packets under ip6->nexthdr, checking eth->h_proto before reading either header" + c.ex.header6
	}
	others := grade.Counters[uint32]{}
	var during []string
	misplaced := true // every extra count stands for a packet missing from its own key
	for _, p := range c.phases() {
		x := p.delta.Except(keys...)
		if x.Total() > 0 {
			others = others.Add(x)
			during = append(during, fmt.Sprintf("%s during the %s", x.Format(labs.IPProtoName), p.what))
			misplaced = misplaced && p.delta[p.proto]+x.Total() <= p.want
		}
	}
	switch {
	case len(during) > 0 && misplaced:
		key, where := "ip->protocol", c.ex.key
		if c.ex.ipv6 {
			key, where = "ip->protocol for IPv4 and ip6->nexthdr for IPv6", c.ex.key6
		}
		hint = "the program counted " + strings.Join(during, ", ") + ": these are the check's own packets under a wrong key; the key must be " + key + where
	case len(during) > 0:
		hint = "the program counted " + strings.Join(during, ", ") + ": " + hint
	}
	return grade.NothingElse("no other protocol is counted", others, labs.IPProtoName, hint)
}
