package basicfirewall

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// pings is how many echo requests each step of the check sends.
const pings = 3

// The check never sends from the sender's own address and never touches the
// learner's rules: pings from the host's address would move the counter of
// any rule that matches it, and taking such a rule out for a moment loses it
// when the check is killed. Instead the check gives the host a source
// address of its own for a while, one that no rule matches, and installs its
// own /32 rule for that address in a free slot. The learner's rules and
// counters do not move (unless the program counts where it should not,
// which is what the check reports), and whatever the learner's rules are
// (the lab's subnet, the host's /32), a program that looks up the
// destination instead of the source fails. Every change is made under an
// undo record (labs.Env.WithUndo), so a kill at any point is taken back by
// the next command on the instance.

// sourceRanges are where the check looks for its own source address, in
// order: the benchmarking range first (RFC 2544 sets it aside for test
// traffic), then private ranges. The address exists only inside the lab.
var sourceRanges = []netip.Prefix{
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("10.0.0.0/8"),
}

// undoKind names the check's undo record.
const undoKind = "check"

// checkChange is everything the check changes for a while, as its undo
// record holds it.
type checkChange struct {
	// HostAddr (on the sender, host/veth0) is the source of the check's
	// pings; Node1Addr (on the dut, node1/veth1) shares its /30, so node1
	// can reply.
	HostAddr  netip.Prefix `json:"host_addr"`
	Node1Addr netip.Prefix `json:"node1_addr"`
	// Rule (HostAddr's /32) goes into blacklist at the free index Index;
	// Counter is matches[Index] on each CPU before, restored afterwards.
	Rule    netip.Prefix `json:"rule"`
	Index   uint32       `json:"index"`
	Counter []uint64     `json:"counter"`
}

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

// hintDestination is the hint when the pings were dropped or counted by a
// rule that contains their destination but not their source.
func hintDestination(rule netip.Prefix, dst, src netip.Addr) string {
	return fmt.Sprintf("rule %s contains the pings' destination %s, not their source %s: "+
		"look up the source address (ip->saddr), not the destination (ip->daddr)", rule, dst, src)
}

// matchesKey names a counter of matches in observed text: "matches[3]".
func matchesKey(index uint32) string { return fmt.Sprintf("%s[%d]", matchesMap, index) }

// Check pings the dut (node1) from a source address of its own that no
// rule matches: the pings must be answered and count nowhere. Then it adds
// its own rule for that address in a free slot: the pings must get no reply
// and count exactly once each, at that rule's index only. Afterwards the
// address, the rule and the slot's counter are as they were before.
func (l *Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	m, err := openMaps(env, false)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	rules, err := m.rules()
	if err != nil {
		return nil, err
	}
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	taken, err := labAddrs(sender, dut)
	if err != nil {
		return nil, err
	}
	ch, err := m.plan(rules, taken)
	if err != nil {
		return nil, err
	}
	c := &checker{env: env, m: m, rules: rules, ch: ch, sender: sender, dut: dut, src: ch.HostAddr.Addr(), dst: dut.Addr.Addr()}
	err = env.WithUndo(l, undoKind, ch, func() error { return c.run(ctx) })
	return c.results, err
}

// labAddrs lists the IPv4 subnets of the addresses of the sender's and the
// dut's nodes: the check's addresses stay out of them, so that taking its
// own back can never remove one that was there before.
func labAddrs(places ...topology.Place) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range places {
		addrs, err := p.NS.Netlink().AddrList(nil, netlink.FAMILY_V4)
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", p.Node, err)
		}
		for _, a := range addrs {
			ip, _ := netip.AddrFromSlice(a.IP.To4())
			bits, _ := a.Mask.Size()
			out = append(out, netip.PrefixFrom(ip, bits).Masked())
		}
	}
	return out, nil
}

// plan chooses the check's source address and rule slot, or says why the
// rules leave none and how to free one.
func (m *fwMaps) plan(rules []Rule, taken []netip.Prefix) (checkChange, error) {
	var errs []error
	src, blocking := freeSource(rules, taken)
	if !src.IsValid() && len(blocking) == 0 {
		errs = append(errs, fmt.Errorf("cannot judge: the check sends from an address of its own, but the addresses of host and node1 "+
			"take up every range it could use (%s): remove the ones you added (%s shows them) and check again",
			prefixList(sourceRanges), labs.Cmd(m.instance, "status")))
	} else if !src.IsValid() {
		slices.SortFunc(blocking, func(a, b Rule) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
		var names []string
		for _, r := range blocking {
			names = append(names, r.Prefix.String())
		}
		verb, fix := "covers", "remove it with "+labs.Cmd(m.instance, "fw del "+names[0])
		if len(names) > 1 {
			verb, fix = "cover", "remove one of them with "+labs.Cmd(m.instance, "fw del CIDR")
		}
		errs = append(errs, fmt.Errorf("cannot judge under these rules: the check sends from an address of its own that no rule matches, "+
			"to see that such packets pass, but %s %s every address it could use (%s): %s and check again",
			strings.Join(names, ", "), verb, prefixList(sourceRanges), fix))
	}
	index, free := freeIndex(rules, m.capacity())
	if !free {
		errs = append(errs, fmt.Errorf("the check adds a rule of its own for a while, but the %w (%d rules): remove one with %s and check again",
			ErrFull, len(rules), labs.Cmd(m.instance, "fw del CIDR")))
	}
	if len(errs) > 0 {
		return checkChange{}, errors.Join(errs...)
	}
	var counter []uint64
	if err := m.matches.Lookup(index, &counter); err != nil {
		return checkChange{}, fmt.Errorf("read %s[%d]: %w", matchesMap, index, err)
	}
	return checkChange{
		HostAddr:  netip.PrefixFrom(src, 30),
		Node1Addr: netip.PrefixFrom(src.Next(), 30),
		Rule:      netip.PrefixFrom(src, 32),
		Index:     index,
		Counter:   counter,
	}, nil
}

// freeSource returns the first address of sourceRanges that no rule
// contains, the first host of a /30 that overlaps no taken subnet, so that
// node1 gets the next one. When there is none, it returns the rules that
// covered the candidates.
func freeSource(rules []Rule, taken []netip.Prefix) (netip.Addr, []Rule) {
	var blocking []Rule
	for _, rg := range sourceRanges {
		base := uint64(addrBits(rg.Addr()))
		end := base + 1<<(32-rg.Bits())
		for a := base + 1; a+1 < end; {
			block := netip.PrefixFrom(bitsAddr(uint32(a)), 30).Masked()
			// The widest rule or subnet in the way: skipping past it skips most.
			var skip netip.Prefix
			for _, r := range rules {
				if r.Prefix.Contains(block.Addr().Next()) && (!skip.IsValid() || r.Prefix.Bits() < skip.Bits()) {
					skip = r.Prefix
				}
			}
			if skip.IsValid() {
				i := slices.IndexFunc(rules, func(r Rule) bool { return r.Prefix == skip })
				if !slices.Contains(blocking, rules[i]) {
					blocking = append(blocking, rules[i])
				}
			}
			for _, p := range taken {
				if p.Overlaps(block) && (!skip.IsValid() || p.Bits() < skip.Bits()) {
					skip = p
				}
			}
			if !skip.IsValid() {
				return block.Addr().Next(), nil
			}
			// On to the next /30 past it.
			past := uint64(addrBits(skip.Masked().Addr())) + 1<<(32-skip.Bits())
			a = (past+3)&^3 + 1
		}
	}
	return netip.Addr{}, blocking
}

// freeIndex is the highest index below capacity that no rule uses, while
// the blacklist has room for one more rule. The highest rather than the
// lowest: a program that always counts at index 0 (or one past the index it
// looked up) then fails even when the learner has no rules.
func freeIndex(rules []Rule, capacity int) (uint32, bool) {
	if len(rules) >= capacity {
		return 0, false
	}
	for i := capacity - 1; i >= 0; i-- {
		if !slices.ContainsFunc(rules, func(r Rule) bool { return r.Index == uint32(i) }) {
			return uint32(i), true
		}
	}
	return 0, false
}

func addrBits(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func bitsAddr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

type checker struct {
	env         *labs.Env
	m           *fwMaps
	rules       []Rule // the learner's
	ch          checkChange
	sender, dut topology.Place
	src, dst    netip.Addr // the check's own source, the dut's address
	results     []labs.Result
}

// run makes the check's changes (under its undo record) and drives both
// steps: no rule for the source, then the check's own rule. A step whose
// pings went wrong is evidence for its expectations, and the next step
// still runs.
func (c *checker) run(ctx context.Context) error {
	if err := addAddr(c.sender, c.ch.HostAddr); err != nil {
		return err
	}
	if err := addAddr(c.dut, c.ch.Node1Addr); err != nil {
		return err
	}
	p, d, err := c.ping(ctx)
	if err != nil {
		return err
	}
	c.expectPassed(p, d)

	if err := c.m.insert(c.ch.Rule, c.ch.Index); err != nil {
		return err
	}
	p, d, err = c.ping(ctx)
	if err != nil {
		return err
	}
	c.expectDropped(p, d)
	return nil
}

// ping sends the echo requests from the check's source on the sender and
// returns what they saw and what they made matches count.
func (c *checker) ping(ctx context.Context) (grade.Pinged, grade.Counters[uint32], error) {
	from := c.sender
	from.Addr = c.ch.HostAddr
	var p grade.Pinged
	d, actErr, err := grade.Measure[uint32](ctx, c.m.matches, func() (err error) {
		p, err = grade.Pings(ctx, from, c.dst, pings)
		return err
	})
	if actErr != nil {
		return p, nil, fmt.Errorf("ping from %s: %w", from.Node, actErr)
	}
	return p, d, err
}

// expectPassed records that the pings from a source no rule matches were
// answered and counted nowhere.
func (c *checker) expectPassed(p grade.Pinged, d grade.Counters[uint32]) {
	because := "the blacklist is empty"
	if len(c.rules) > 0 {
		var have []string
		for _, r := range c.rules {
			have = append(have, r.Prefix.String())
		}
		because = "no rule of " + strings.Join(have, ", ") + " matches it"
	}
	pass, count := hintPass, hintNoCount
	if h := c.destinationHint(d); h != "" {
		pass, count = h, h
	}
	if h := p.NotSentHint(c.env); h != "" {
		pass, count = h, h
	}
	c.results = append(c.results,
		grade.PingsAnswered(fmt.Sprintf("%d pings %s -> %s are answered (the check's own source; %s)", pings, c.src, c.dst, because),
			p, pass),
		grade.NothingElse("no rule counts them", d, matchesKey, count))
}

// expectDropped records that the pings were dropped and counted by the
// check's rule only.
func (c *checker) expectDropped(p grade.Pinged, d grade.Counters[uint32]) {
	drop, count, other := hintDrop, hintCount, hintOther
	if h := c.destinationHint(d); h != "" {
		other = h
	}
	if h := p.NotSentHint(c.env); h != "" {
		drop, count, other = h, h, h
	}
	rule := fmt.Sprintf("the check's rule %s at index %d", c.ch.Rule, c.ch.Index)
	c.results = append(c.results,
		grade.PingsUnanswered(fmt.Sprintf("%d pings %s -> %s get no reply (%s)", pings, c.src, c.dst, rule), p, drop),
		grade.ExactCount(fmt.Sprintf("%s (%s) counts the %d dropped echo requests", matchesKey(c.ch.Index), rule, pings),
			pings, d[c.ch.Index], count),
		grade.NothingElse("no other rule counts them", d.Except(c.ch.Index), matchesKey, other))
}

// destinationHint names the learner's rule that counted the check's pings
// although it contains only their destination: the program looked up
// ip->daddr.
func (c *checker) destinationHint(d grade.Counters[uint32]) string {
	for _, r := range c.rules {
		if d[r.Index] > 0 && r.Prefix.Contains(c.dst) && !r.Prefix.Contains(c.src) {
			return hintDestination(r.Prefix, c.dst, c.src)
		}
	}
	return ""
}

// Undo takes the check's changes back, in any state a kill left them: the
// addresses first, so no packet from the check's source comes after, then
// the rule, then the slot's counter. Whatever is already gone (with its
// namespace or pin, or never made) counts as taken back.
func (*Lab) Undo(env *labs.Env, rec labs.UndoRecord) error {
	var ch checkChange
	if err := json.Unmarshal(rec.Data, &ch); err != nil {
		return fmt.Errorf("undo record of the check: %w", err)
	}
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	errs := []error{
		delAddr(sender, ch.HostAddr, ch.Node1Addr.Addr()),
		delAddr(dut, ch.Node1Addr, ch.HostAddr.Addr()),
	}
	m, err := openMaps(env, false)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The pins are gone, and the maps with them.
	case err != nil:
		errs = append(errs, err)
	default:
		defer m.Close()
		if err := m.remove(ch.Rule); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		} else if err := m.matches.Update(ch.Index, ch.Counter, ebpf.UpdateAny); err != nil {
			errs = append(errs, fmt.Errorf("restore %s[%d]: %w", matchesMap, ch.Index, err))
		}
	}
	return errors.Join(errs...)
}

// addAddr gives an interface of the lab an extra address for the check.
func addAddr(at topology.Place, p netip.Prefix) error {
	h := at.NS.Netlink()
	link, err := h.LinkByName(at.Iface)
	if err != nil {
		return fmt.Errorf("find %s/%s: %w", at.Node, at.Iface, err)
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(p)}); err != nil {
		return fmt.Errorf("add the check's address %s to %s/%s: %w", p, at.Node, at.Iface, err)
	}
	return nil
}

// delAddr removes the check's address from an interface of the lab, and
// the neighbour entry the check's pings made there for the peer's address.
func delAddr(at topology.Place, p netip.Prefix, peer netip.Addr) error {
	h := at.NS.Netlink()
	link, err := h.LinkByName(at.Iface)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil // gone with its address
	}
	if err != nil {
		return fmt.Errorf("find %s/%s: %w", at.Node, at.Iface, err)
	}
	if err := h.AddrDel(link, &netlink.Addr{IPNet: ipNet(p)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("remove the check's address %s from %s/%s: %w", p, at.Node, at.Iface, err)
	}
	neigh := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: unix.AF_INET, IP: net.IP(peer.AsSlice())}
	if err := h.NeighDel(neigh); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove the neighbour %s of %s/%s: %w", peer, at.Node, at.Iface, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}
}
