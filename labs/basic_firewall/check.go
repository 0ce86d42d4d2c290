package basicfirewall

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
)

// pings is how many echo requests each step of the check sends.
const pings = 3

var (
	hostAddr  = netip.MustParseAddr("192.168.0.3")
	node1Addr = netip.MustParseAddr("192.168.0.2")
	// hostRule is the rule the check adds for a while when no rule drops the
	// host, so that dropping and counting are always exercised.
	hostRule = netip.PrefixFrom(hostAddr, 32)
)

// Hints for the learner, one per kind of failure.
const (
	hintDrop = "the program must return XDP_DROP when the source address is in blacklist: " +
		"look it up with a key {prefixlen = 32, addr = ip->saddr} (network byte order, as in the packet)"
	hintCount = "after a blacklist hit, use the value it returns as the index into matches and add 1 there; " +
		"a PERCPU_ARRAY lookup returns this CPU's slot, user space sums them"
	hintOther = "count only at the index the blacklist lookup returned, once per dropped packet"
	hintPass  = "a source that no rule contains must pass: return XDP_PASS when the blacklist lookup returns NULL " +
		"(and for anything that is not IPv4, such as ARP)"
	hintNoCount = "count only packets that a rule matched and that you drop"
)

// Check pings node1 from the host (192.168.0.3) with and without a rule that
// matches it. When the rules given at up (or changed with `xdplab fw`) match
// the host, it checks they drop and count the pings, then removes them for a
// moment and checks the pings are answered. When none matches, it checks the
// pings are answered, then adds the rule 192.168.0.3/32 for a moment. Either
// way the blacklist ends as the check found it.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	m, err := openMaps(env, false)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	rules, err := m.rules()
	if err != nil {
		return nil, err
	}
	c := &checker{env: env, m: m}
	if hits := matching(rules, hostAddr); len(hits) > 0 {
		return c.withHostRules(ctx, hits)
	}
	return c.withoutHostRule(ctx, rules)
}

type checker struct {
	env     *labs.Env
	m       *fwMaps
	results []labs.Result
}

// ping sends the echo requests from the host and returns how many were
// answered and how much each counter of matches grew meanwhile.
func (c *checker) ping(ctx context.Context) (int, map[uint32]uint64, error) {
	before, err := c.m.counts()
	if err != nil {
		return 0, nil, err
	}
	res, err := traffic.Ping(ctx, c.env.Topo.MustNS("host"), node1Addr, traffic.PingOptions{Count: pings})
	if err != nil {
		return 0, nil, fmt.Errorf("ping from host: %w", err)
	}
	after, err := c.m.counts()
	if err != nil {
		return 0, nil, err
	}
	grew := map[uint32]uint64{}
	for i, n := range after {
		if n != before[i] {
			grew[i] = n - before[i]
		}
	}
	return res.Received, grew, nil
}

// expectDropped records that the pings were dropped and counted by rule r only.
func (c *checker) expectDropped(received int, grew map[uint32]uint64, r Rule, because string) {
	c.results = append(c.results,
		labs.Expect(fmt.Sprintf("%d pings 192.168.0.3 -> 192.168.0.2 get no reply (%s)", pings, because),
			0, received, hintDrop),
		labs.Expect(fmt.Sprintf("matches[%d] (rule %s) counts the %d dropped echo requests", r.Index, r.Prefix, pings),
			pings, grew[r.Index], hintCount),
		labs.Expect("no other rule counts them", "none", others(grew, r.Index), hintOther))
}

// expectPassed records that the pings were answered and counted nowhere.
func (c *checker) expectPassed(received int, grew map[uint32]uint64, because string) {
	c.results = append(c.results,
		labs.Expect(fmt.Sprintf("%d pings 192.168.0.3 -> 192.168.0.2 are answered (%s)", pings, because),
			pings, received, hintPass),
		labs.Expect("no rule counts them", "none", others(grew, noRule), hintNoCount))
}

// noRule is an index no rule has, for others to skip nothing.
const noRule = ^uint32(0)

// others describes the counters that grew, except the one at skip.
func others(grew map[uint32]uint64, skip uint32) string {
	idx := make([]uint32, 0, len(grew))
	for i := range grew {
		if i != skip {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	var s []string
	for _, i := range idx {
		s = append(s, fmt.Sprintf("matches[%d] +%d", i, grew[i]))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// withHostRules checks the rules that match the host: they drop, the longest
// counts; without them, the pings pass. The rules are put back with their
// indices and counters afterwards.
func (c *checker) withHostRules(ctx context.Context, hits []Rule) (_ []labs.Result, err error) {
	winner := hits[0]
	received, grew, err := c.ping(ctx)
	if err != nil {
		return c.results, err
	}
	c.expectDropped(received, grew, winner, "rule "+winner.Prefix.String()+" matches 192.168.0.3")

	var removed []string
	defer func() {
		// Put back what we took out, whatever happened meanwhile: the check
		// must leave the lab's rules as it found them.
		for _, r := range hits {
			if rerr := c.m.insert(r.Prefix, r.Index); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restore rule %s: %w", r.Prefix, rerr))
			}
		}
	}()
	for _, r := range hits {
		if err := c.m.remove(r.Prefix); err != nil {
			return c.results, err
		}
		removed = append(removed, r.Prefix.String())
	}
	received, grew, err = c.ping(ctx)
	if err != nil {
		return c.results, err
	}
	c.expectPassed(received, grew, "with "+strings.Join(removed, " and ")+" removed for a moment")
	return c.results, nil
}

// withoutHostRule checks that the rules as they are let the host through,
// then adds 192.168.0.3/32 for a moment to see it drop and count.
func (c *checker) withoutHostRule(ctx context.Context, rules []Rule) (_ []labs.Result, err error) {
	because := "the blacklist is empty"
	if len(rules) > 0 {
		var have []string
		for _, r := range rules {
			have = append(have, r.Prefix.String())
		}
		because = "no rule of " + strings.Join(have, ", ") + " matches 192.168.0.3"
	}
	received, grew, err := c.ping(ctx)
	if err != nil {
		return c.results, err
	}
	c.expectPassed(received, grew, because)

	r, err := c.m.add(hostRule)
	if errors.Is(err, ErrFull) {
		return c.results, fmt.Errorf("the check adds %s for a moment, but the %w", hostRule, err)
	}
	if err != nil {
		return c.results, err
	}
	added := true
	defer func() {
		if added {
			if _, derr := c.m.del(hostRule); derr != nil {
				err = errors.Join(err, fmt.Errorf("remove temporary rule %s: %w", hostRule, derr))
			}
		}
	}()
	received, grew, err = c.ping(ctx)
	if err != nil {
		return c.results, err
	}
	c.expectDropped(received, grew, r, "rule "+hostRule.String()+" added for a moment")

	// Removing also zeroes its counter: the temporary rule leaves no trace.
	added = false
	if _, err := c.m.del(hostRule); err != nil {
		return c.results, fmt.Errorf("remove temporary rule %s: %w", hostRule, err)
	}
	received, grew, err = c.ping(ctx)
	if err != nil {
		return c.results, err
	}
	c.expectPassed(received, grew, "with "+hostRule.String()+" removed again")
	return c.results, nil
}
