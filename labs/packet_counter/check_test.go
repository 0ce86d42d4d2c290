package packetcounter

import (
	"testing"

	"github.com/xdplab/xdplab/labs/grade"
)

// TestCountHint: a count that went wrong gets a hint from what the
// counters show, naming the TODO of the step's starter where the learner
// writes that part, and how to count otherwise.
func TestCountHint(t *testing.T) {
	base, v6 := exercises[""], exercises[stepIPv6]
	for _, c := range []struct {
		ex    exercise
		d     grade.Counters[uint32]
		proto uint32
		ipv6  bool
		want  string
	}{
		{base, grade.Counters[uint32]{1: 6}, 1, false, "each packet was counted 2 times: add 1 once per packet, in one place (TODO 3 in packet_counter.c)"},
		{base, grade.Counters[uint32]{64: 3}, 1, false, "the 3 echo requests were counted under key 64 (IPPROTO_64), not 1 (IPPROTO_ICMP): " +
			"the key must be ip->protocol, the byte at offset 9 of the IPv4 header (TODO 2 in packet_counter.c)"},
		{base, grade.Counters[uint32]{}, 1, false, base.nothing},
		{base, grade.Counters[uint32]{64: 2}, 1, false, "count each of the 3 echo requests exactly once under ip->protocol, the byte at offset 9 of the IPv4 header (TODO 2 in packet_counter.c) " +
			"(a lookup in a PERCPU_ARRAY returns this CPU's slot: add 1 to it)"},
		{base, grade.Counters[uint32]{1: 4}, 1, false, "count each of the 3 echo requests exactly once under ip->protocol, the byte at offset 9 of the IPv4 header (TODO 2 in packet_counter.c) " +
			"(a lookup in a PERCPU_ARRAY returns this CPU's slot: add 1 to it)"},
		{exercises[stepDropICMP], grade.Counters[uint32]{}, 1, false, "nothing was counted: count every packet first, then drop ICMP; " +
			"a packet dropped before it is counted is lost to the counters (TODO 1 in packet_counter.c)"},
		{v6, grade.Counters[uint32]{}, 58, true, "the IPv6 packets were not counted: recognise EtherType ETH_P_IPV6 and check a whole struct ipv6hdr fits " +
			"(TODO 1 in packet_counter.c), then count under ip6->nexthdr (TODO 2 in packet_counter.c)"},
		{v6, grade.Counters[uint32]{0: 3}, 58, true, "the 3 IPv6 echo requests were counted under key 0 (IPPROTO_IP), not 58 (IPPROTO_ICMPV6): " +
			"the key must be ip6->nexthdr, the byte at offset 6 of the IPv6 header (TODO 2 in packet_counter.c)"},
	} {
		what := "echo requests"
		if c.ipv6 {
			what = "IPv6 echo requests"
		}
		if got := c.ex.countHint(c.d, c.proto, 3, what, c.ipv6); got != c.want {
			t.Errorf("%v: %q\nwant %q", c.d, got, c.want)
		}
	}
}
