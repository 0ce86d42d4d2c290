package packetcounter

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Traffic the check sends from the sender to the dut.
const (
	pings      = 3
	datagrams  = 5
	udpPort    = 9
	udpPayload = 32
	tcpPort    = 8888
	// Raw IPv6 frames of the ipv6 step.
	echoes6     = 3
	datagrams6  = 2
	echoID6     = 0x786c // "xl"
	udpSrcPort6 = 5000
	tcpSrcPort6 = 43910
)

// IP protocol numbers, the map's keys.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// IPv6 is off in the lab's namespaces, so these addresses belong to no
// interface: the frames only have to look like IPv6 to the program.
var (
	hostIPv6  = netip.MustParseAddr("fd00::3")
	node1IPv6 = netip.MustParseAddr("fd00::2")
)

// exercise is what a step expects, and where its starter leaves each part
// of the program to the learner: " (TODO 1 in packet_counter.c)", or ""
// where the step's starter has it written, so that a hint sends the
// learner to the gap they filled.
type exercise struct {
	dropICMP, ipv6 bool
	// IPv4: the header checks, the key, the increment, the ICMP drop.
	header, key, increment, drop string
	// pass is where a packet that should pass may have been dropped.
	pass string
	// IPv6: the header check and the key.
	header6, key6 string
	// nothing is the hint when an IPv4 step counted nothing at all.
	nothing string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in packet_counter.c)", n) }

var exercises = map[string]exercise{
	"": {
		header: todo(1), key: todo(2), increment: todo(3),
		nothing: "nothing was counted: the program returns before it counts, or never adds to the counter; return early only for frames that are not IPv4 or too short" +
			todo(1) + ", look up protocols[ip->protocol]" + todo(2) + " and add 1 to what the lookup returned" + todo(3),
	},
	stepDropICMP: {
		dropICMP: true, drop: todo(1), pass: todo(1),
		nothing: "nothing was counted: count every packet first, then drop ICMP; a packet dropped before it is counted is lost to the counters" + todo(1),
	},
	stepIPv6: {
		ipv6: true, header6: todo(1), key6: todo(2),
		nothing: "nothing was counted: IPv4 packets are counted as in the base exercise, under ip->protocol",
	},
}

// Check sends pings, UDP datagrams and a TCP exchange from the sender to
// the dut, and in the ipv6 step raw IPv6 frames, and compares what each
// made the counters count with what it sent. Traffic the program kept from
// arriving fails its own expectation; the counters are still judged.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	ex := exercises[env.Options.Step]
	m, err := grade.OpenMap(env, mapName, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	c := &checker{ctx: ctx, m: m, ex: ex, sender: env.Topo.MustRole("sender"), dut: env.Topo.MustRole("dut"), counted: grade.Counters[uint32]{}}
	results, err := c.ipv4()
	if err != nil || !ex.ipv6 {
		return append(results, c.nothingElse()...), err
	}
	more, err := c.ipv6()
	results = append(results, more...)
	return append(results, c.nothingElse()...), err
}

// checker runs a step's traffic and keeps what it all made the map count.
type checker struct {
	ctx         context.Context
	m           *ebpf.Map
	ex          exercise
	sender, dut topology.Place
	counted     grade.Counters[uint32]
	finished    bool // every traffic step ran: the counters are complete
}

// measure runs one traffic step. Its error is the check's (a port taken,
// an interruption): what the program did to the traffic is in the step's
// result.
func (c *checker) measure(step func() error) (grade.Counters[uint32], error) {
	d, stepErr, err := grade.Measure[uint32](c.ctx, c.m, step)
	if stepErr != nil {
		return nil, stepErr
	}
	c.counted = c.counted.Add(d)
	return d, err
}

// ipv4 is the base exercise's traffic: pings, UDP, TCP.
func (c *checker) ipv4() ([]labs.Result, error) {
	ex := c.ex
	var results []labs.Result
	var ping grade.Pinged
	d, err := c.measure(func() (err error) {
		ping, err = grade.Pings(c.ctx, c.sender, c.dut.Addr.Addr(), pings)
		return err
	})
	if err != nil {
		return results, err
	}
	if ex.dropICMP {
		results = append(results, grade.PingsUnanswered("", ping,
			"node1 answered: return XDP_DROP when ip->protocol is IPPROTO_ICMP"+ex.drop))
	} else {
		results = append(results, grade.PingsAnswered("", ping,
			"the program must return XDP_PASS for ICMP; if it drops, node1 never sees the echo requests"+ex.pass))
	}
	results = append(results, grade.ExactCount(fmt.Sprintf("IPPROTO_ICMP counts the %d echo requests", pings), pings, d[protoICMP],
		ex.countHint(d, protoICMP, pings, "echo requests", false)))

	pass := "the program must return XDP_PASS for UDP too: a datagram it drops never reaches node1's socket" + ex.pass
	if ex.dropICMP {
		pass = "drop ICMP only: UDP must get XDP_PASS, or node1's socket never has the datagrams" + ex.pass
	}
	var udp grade.Delivered
	d, err = c.measure(func() (err error) {
		udp, err = grade.Datagrams(c.ctx, c.sender, c.dut, udpPort, datagrams, udpPayload)
		return err
	})
	if err != nil {
		return results, err
	}
	results = append(results,
		grade.DatagramsArrived("", udp, pass),
		grade.ExactCount(fmt.Sprintf("IPPROTO_UDP counts the %d datagrams", datagrams), datagrams, d[protoUDP],
			ex.countHint(d, protoUDP, datagrams, "datagrams", false)))

	pass = "the program must return XDP_PASS for TCP too, or the connection never completes" + ex.pass
	if ex.dropICMP {
		pass = "drop ICMP only: TCP must get XDP_PASS, or the connection never completes" + ex.pass
	}
	var tcp grade.Exchanged
	d, err = c.measure(func() (err error) {
		tcp, err = grade.TCPExchange(c.ctx, c.sender, c.dut, tcpPort, []byte("hello xdplab\n"))
		return err
	})
	if err != nil {
		return results, err
	}
	hint := "a TCP connection sends SYN, ACK, data and FIN towards node1: each is one packet with protocol 6" + ex.key
	if d.Total() == 0 {
		hint = ex.nothing
	}
	results = append(results,
		grade.TCPExchanged("", tcp, pass),
		grade.AtLeast("IPPROTO_TCP counts the TCP exchange", 1, d[protoTCP], hint))
	c.finished = !c.ex.ipv6
	return results, nil
}

// ipv6 is the ipv6 step's traffic: raw ICMPv6 echo requests, UDP datagrams
// and a TCP SYN, each witnessed at node1 past the program and counted
// exactly under its next header.
func (c *checker) ipv6() ([]labs.Result, error) {
	var echoes, udps [][]byte
	for seq := range echoes6 {
		f, err := packet.ICMPv6Echo{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: hostIPv6, Dst: node1IPv6,
			ID: echoID6, Seq: uint16(seq + 1), Payload: make([]byte, 56)}.Bytes()
		if err != nil {
			return nil, fmt.Errorf("build icmpv6 frame: %w", err)
		}
		echoes = append(echoes, f)
	}
	for n := range datagrams6 {
		f, err := packet.UDPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC,
			Src: netip.AddrPortFrom(hostIPv6, udpSrcPort6+uint16(n)), Dst: netip.AddrPortFrom(node1IPv6, udpPort),
			Payload: make([]byte, udpPayload)}.Bytes()
		if err != nil {
			return nil, fmt.Errorf("build ipv6 udp frame: %w", err)
		}
		udps = append(udps, f)
	}
	syn, err := packet.TCPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC,
		Src: netip.AddrPortFrom(hostIPv6, tcpSrcPort6), Dst: netip.AddrPortFrom(node1IPv6, tcpPort),
		Flags: packet.TCPSyn, Seq: 1, Window: 64240}.Bytes()
	if err != nil {
		return nil, fmt.Errorf("build ipv6 tcp frame: %w", err)
	}
	var results []labs.Result
	for _, s := range []struct {
		what   string // as sent: "3 ICMPv6 echo requests"
		frames [][]byte
		proto  uint32
		counts string // as counted, for hints: "IPv6 echo requests"
	}{
		{fmt.Sprintf("%d ICMPv6 echo requests", echoes6), echoes, protoICMPv6, "IPv6 echo requests"},
		{fmt.Sprintf("%d IPv6 UDP datagrams", datagrams6), udps, protoUDP, "IPv6 datagrams"},
		{"1 IPv6 TCP SYN", [][]byte{syn}, protoTCP, "IPv6 SYN"},
	} {
		var w grade.Written
		d, err := c.measure(func() (err error) {
			w, err = grade.Frames(c.ctx, c.sender, c.dut, s.what, packet.EtherTypeIPv6, s.frames)
			return err
		})
		if err != nil {
			return results, err
		}
		sent := uint64(len(s.frames))
		results = append(results,
			grade.FramesArrived("", w, "the program must return XDP_PASS for IPv6 packets too, counted or not"+c.ex.header6),
			grade.ExactCount(fmt.Sprintf("%s counts the %s", labs.IPProtoName(s.proto), s.what), sent, d[s.proto],
				c.ex.countHint(d, s.proto, sent, s.counts, true)))
	}
	c.finished = true
	return results, nil
}

// nothingElse judges the keys no traffic step was meant to move, once
// every step ran: a check cut short would blame the program for what it
// never saw.
func (c *checker) nothingElse() []labs.Result {
	if !c.finished {
		return nil
	}
	if c.ex.ipv6 {
		return []labs.Result{grade.NothingElse("no other protocol is counted",
			c.counted.Except(protoICMP, protoTCP, protoUDP, protoICMPv6), labs.IPProtoName,
			"count IPv4 packets under ip->protocol and IPv6 packets under ip6->nexthdr, checking eth->h_proto before reading either header"+c.ex.header6)}
	}
	return []labs.Result{grade.NothingElse("no other protocol is counted",
		c.counted.Except(protoICMP, protoTCP, protoUDP), labs.IPProtoName,
		"only IPv4 packets have ip->protocol; check the EtherType is ETH_P_IP before reading the IP header"+c.ex.header)}
}

// countHint says what the counters show when a step's sent packets were
// not counted once each under their protocol: counted several times,
// counted under another key, or not counted at all; without such evidence,
// how to count them. ipv6 says the packets were IPv6.
func (e exercise) countHint(d grade.Counters[uint32], proto uint32, sent uint64, what string, ipv6 bool) string {
	key, where, nothing := "ip->protocol, the byte at offset 9 of the IPv4 header", e.key, e.nothing
	if ipv6 {
		key, where = "ip6->nexthdr, the byte at offset 6 of the IPv6 header", e.key6
		nothing = "the IPv6 packets were not counted: recognise EtherType ETH_P_IPV6 and check a whole struct ipv6hdr fits" +
			e.header6 + ", then count under ip6->nexthdr" + e.key6
	}
	got := d[proto]
	switch {
	case got > sent && got%sent == 0:
		return fmt.Sprintf("each packet was counted %d times: add 1 once per packet, in one place%s", got/sent, e.increment)
	case got == 0 && d.Total() == 0:
		return nothing
	case got == 0:
		if k, ok := d.Elsewhere(proto, sent); ok {
			were := "were"
			if sent == 1 {
				were = "was"
			}
			return fmt.Sprintf("the %d %s %s counted under key %d (%s), not %d (%s): the key must be %s%s",
				sent, what, were, k, labs.IPProtoName(k), proto, labs.IPProtoName(proto), key, where)
		}
	}
	return fmt.Sprintf("count each of the %d %s exactly once under %s%s (a lookup in a PERCPU_ARRAY returns this CPU's slot: add 1 to it)", sent, what, key, where)
}
