package sockex1

import (
	"context"
	"fmt"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Traffic the check sends, all inside the dut's node over lo.
const (
	pings        = 5
	datagrams    = 4
	udpPort      = 9999
	udpPayload   = 100
	udpFrameLen  = 14 + 20 + 8 + udpPayload // Ethernet + IPv4 + UDP headers + payload
	pingFrameLen = 14 + 20 + 8 + traffic.DefaultPayload
	tcpPort      = 8888
)

// Check attaches the filter to its own socket on the dut's lo, then sends
// pings, UDP datagrams and a TCP exchange over lo and compares the byte
// counters with what left lo.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	m, err := grade.OpenMap(env, mapName, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	// Attached before the first ping, or the pings go uncounted.
	filter, err := attachFilter(env)
	if err != nil {
		return nil, err
	}
	defer filter.Close()
	lo := grade.Loopback(env.Topo.MustRole("dut"))

	stray := grade.Counters[uint32]{} // bytes counted under a protocol the step did not send
	// measure runs one traffic step that sends protocol sent. Its error is
	// the check's (a port taken, an interruption).
	measure := func(sent uint32, step func() error) (grade.Counters[uint32], error) {
		d, stepErr, err := grade.Measure[uint32](ctx, m, step)
		if stepErr != nil {
			return nil, stepErr
		}
		stray = stray.Add(d.Except(sent))
		return d, err
	}
	// A socket filter keeps nothing from anyone else's socket: traffic over
	// lo that does not arrive is the node's fault, never the program's.
	undelivered := func(what, seen string) error {
		return labs.Errorf(labs.ErrEnvironment, "%s over lo in %s: %s; a socket filter cannot cause that, so lo in %s is broken: %s",
			what, lo.Node, seen, lo.Node, env.RebuildFix())
	}
	var results []labs.Result

	// 1. Pings: 10 ICMP packets leave lo, 5 requests and 5 replies, 98 bytes
	// each. The last reply has been read when Pings returns: it left lo (and
	// was counted) before that.
	var ping grade.Pinged
	d, err := measure(protoICMP, func() (err error) {
		ping, err = grade.Pings(ctx, lo, lo.Addr.Addr(), pings)
		return err
	})
	if err != nil {
		return results, err
	}
	results = append(results,
		grade.PingsAnswered(fmt.Sprintf("%d pings %s in %s are answered", pings, lo.Addr.Addr(), lo.Node), ping,
			fmt.Sprintf("a socket filter cannot drop anything for others: if pings fail here, %s's lo is not up", lo.Node)),
		grade.ExactCount(fmt.Sprintf("ICMP counts %d x (%d request + %d reply) bytes", pings, pingFrameLen, pingFrameLen),
			2*pings*pingFrameLen, d[protoICMP], icmpHint(d, ping.Received, env.Instance)))

	// 2. UDP datagrams to a listener, so no ICMP port unreachable comes back.
	var udp grade.Delivered
	d, err = measure(protoUDP, func() (err error) {
		udp, err = grade.Datagrams(ctx, lo, lo, udpPort, datagrams, udpPayload)
		return err
	})
	if err != nil {
		return results, err
	}
	if udp.Arrived != udp.Count || udp.Failure != nil {
		return results, undelivered(fmt.Sprintf("udp to %s", udp.Dst), udp.String())
	}
	results = append(results, grade.ExactCount(
		fmt.Sprintf("UDP counts %d datagrams x %d bytes (%d payload + 42 header)", datagrams, udpFrameLen, udpPayload),
		datagrams*udpFrameLen, d[protoUDP],
		"add skb->len under key ip->protocol for PACKET_OUTGOING packets only; skb->len counts the 14-byte Ethernet header lo carries too"))

	// 3. A TCP exchange. Its segment count depends on the stack (delayed
	// ACKs, options), so a plain packet socket on lo witnesses the frames
	// that leave lo alongside the filter. Its frames are read inside the
	// step, once lo has been quiet: the last ACK of the close may still be
	// on its way when the exchange returns, and the counters are read after.
	out, err := witness.Open(lo.NS, lo.Iface, witness.Options{Direction: witness.Out, EtherType: packet.EtherTypeIPv4, Buffer: 4 << 20})
	if err != nil {
		return results, err
	}
	defer out.Close()
	var (
		tcp    grade.Exchanged
		frames []witness.Frame
	)
	d, err = measure(protoTCP, func() (err error) {
		if tcp, err = grade.TCPExchange(ctx, lo, lo, tcpPort, []byte("hello sockex1\n")); err != nil {
			return err
		}
		frames, err = out.Frames(grade.Quiet)
		return err
	})
	if err != nil {
		return results, err
	}
	if !tcp.OK() {
		return results, undelivered(fmt.Sprintf("tcp to %s", tcp.Dst), tcp.String())
	}
	var seen uint64 // bytes of TCP frames that left lo, skb->len as the filter sees it
	for _, f := range frames {
		if f.Packet.Has(packet.LayerIPv4) && f.Packet.IPv4.Protocol == packet.ProtoTCP {
			seen += uint64(f.Len)
		}
	}
	results = append(results, labs.Assert("TCP counts every segment of a connection, as a plain packet socket on lo saw them leave",
		seen > 0 && d[protoTCP] == seen, fmt.Sprint(seen), fmt.Sprint(d[protoTCP]),
		"count each outgoing segment once with its skb->len: SYN, ACKs, data and FINs alike"))

	results = append(results, grade.NothingElse("nothing else is counted", stray, labs.IPProtoName,
		"key my_map by the protocol byte at ETH_HLEN + offsetof(struct iphdr, protocol), and count PACKET_OUTGOING only"))
	return results, nil
}

// icmpHint says what the ICMP byte count shows when it is wrong, given
// the step's counts and how many pings were answered.
func icmpHint(d grade.Counters[uint32], answered int, instance string) string {
	const want = 2 * pings * pingFrameLen
	got := d[protoICMP]
	switch {
	case answered != pings:
		return fmt.Sprintf("%d of %d pings were answered, so the count cannot be judged: see why above", answered, pings)
	case got == 0:
		hint := "nothing was counted under IPPROTO_ICMP (1): read the protocol byte at ETH_HLEN + offsetof(struct iphdr, protocol) and add skb->len to that slot"
		if k, ok := d.Elsewhere(protoICMP, want); ok {
			hint = fmt.Sprintf("the %d bytes of the pings were counted under key %d (%s), not 1 (IPPROTO_ICMP): "+
				"read the protocol byte at ETH_HLEN + offsetof(struct iphdr, protocol), 23 bytes into the frame", want, k, labs.IPProtoName(k))
		}
		return hint
	case got%want == 0:
		return "counted several times: skip packets whose skb->pkt_type is not PACKET_OUTGOING (lo shows each packet leaving and arriving), " +
			"and close other sockets running this filter (" + labs.Cmd(instance, "watch sockex1") + "): each one counts every packet again"
	}
	return "add skb->len, the whole frame with its 14-byte Ethernet header, once per outgoing packet"
}
