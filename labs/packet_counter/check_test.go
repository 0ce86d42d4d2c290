package packetcounter

import (
	"testing"

	"github.com/xdplab/xdplab/labs/grade"
)

// TestCountHint: a count that went wrong gets a hint from what the
// counters show, and the lab's own hint otherwise.
func TestCountHint(t *testing.T) {
	for _, c := range []struct {
		d    grade.Counters[uint32]
		want string
	}{
		{grade.Counters[uint32]{1: 6}, "each packet was counted 2 times: add 1 once per packet, in one place"},
		{grade.Counters[uint32]{64: 3}, "the 3 echo requests were counted under key 64 (IPPROTO_64), not 1 (IPPROTO_ICMP): " +
			"the key must be ip->protocol, the byte at offset 9 of the IPv4 header"},
		{grade.Counters[uint32]{64: 2}, "fallback"},
		{grade.Counters[uint32]{1: 4}, "fallback"},
	} {
		if got := countHint(c.d, 1, 3, "echo requests", "fallback"); got != c.want {
			t.Errorf("%v: %q\nwant %q", c.d, got, c.want)
		}
	}
}
