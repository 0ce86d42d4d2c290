package packetcounter

import (
	"context"
	"fmt"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Traffic the check sends from the sender to the dut.
const (
	pings      = 3
	datagrams  = 5
	udpPort    = 9
	udpPayload = 32
	tcpPort    = 8888
)

// IP protocol numbers, the map's keys.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// Check sends pings, UDP datagrams and a TCP exchange from the sender to
// the dut and compares what each made the counters count with what it
// sent. Traffic the program kept from arriving fails its own expectation;
// the counters are still judged.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	m, err := grade.OpenMap(env, mapName, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")

	counted := grade.Counters[uint32]{} // what all the steps made the map count
	// measure runs one traffic step. Its error is the check's (a port taken,
	// an interruption): what the program did to the traffic is in the step's
	// result.
	measure := func(step func() error) (grade.Counters[uint32], error) {
		d, stepErr, err := grade.Measure[uint32](ctx, m, step)
		if stepErr != nil {
			return nil, stepErr
		}
		counted = counted.Add(d)
		return d, err
	}
	var results []labs.Result

	var ping grade.Pinged
	d, err := measure(func() (err error) {
		ping, err = grade.Pings(ctx, sender, dut.Addr.Addr(), pings)
		return err
	})
	if err != nil {
		return results, err
	}
	results = append(results,
		grade.PingsAnswered("", ping,
			"the program must return XDP_PASS for ICMP; if it drops, node1 never sees the echo requests"),
		grade.ExactCount(fmt.Sprintf("IPPROTO_ICMP counts the %d echo requests", pings), pings, d[protoICMP],
			countHint(d, protoICMP, pings, "echo requests",
				"key the map by ip->protocol and add 1 per packet (a lookup in a PERCPU_ARRAY returns this CPU's slot)")))

	var udp grade.Delivered
	d, err = measure(func() (err error) {
		udp, err = grade.Datagrams(ctx, sender, dut, udpPort, datagrams, udpPayload)
		return err
	})
	if err != nil {
		return results, err
	}
	results = append(results,
		grade.DatagramsArrived("", udp,
			"the program must return XDP_PASS for UDP too: a datagram it drops never reaches node1's socket"),
		grade.ExactCount(fmt.Sprintf("IPPROTO_UDP counts the %d datagrams", datagrams), datagrams, d[protoUDP],
			countHint(d, protoUDP, datagrams, "datagrams",
				"every UDP datagram is one IPv4 packet with protocol 17; count each exactly once")))

	var tcp grade.Exchanged
	d, err = measure(func() (err error) {
		tcp, err = grade.TCPExchange(ctx, sender, dut, tcpPort, []byte("hello xdplab\n"))
		return err
	})
	if err != nil {
		return results, err
	}
	results = append(results,
		grade.TCPExchanged("", tcp,
			"the program must return XDP_PASS for TCP too, or the connection never completes"),
		grade.AtLeast("IPPROTO_TCP counts the TCP exchange", 1, d[protoTCP],
			"a TCP connection sends SYN, ACK, data and FIN towards node1: each is one packet with protocol 6"))

	results = append(results, grade.NothingElse("no other protocol is counted",
		counted.Except(protoICMP, protoTCP, protoUDP), labs.IPProtoName,
		"only IPv4 packets have ip->protocol; check the EtherType is ETH_P_IP before reading the IP header"))
	return results, nil
}

// countHint says what the counters show when a step's sent packets were
// not counted once each under their protocol: counted several times, or
// counted under another key. Without such evidence it is fallback.
func countHint(d grade.Counters[uint32], proto uint32, sent uint64, what, fallback string) string {
	got := d[proto]
	switch {
	case got > sent && got%sent == 0:
		return fmt.Sprintf("each packet was counted %d times: add 1 once per packet, in one place", got/sent)
	case got == 0:
		if k, ok := d.Elsewhere(proto, sent); ok {
			return fmt.Sprintf("the %d %s were counted under key %d (%s), not %d (%s): the key must be ip->protocol, the byte at offset 9 of the IPv4 header",
				sent, what, k, labs.IPProtoName(k), proto, labs.IPProtoName(proto))
		}
	}
	return fallback
}
