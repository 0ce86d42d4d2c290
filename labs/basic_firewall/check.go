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
	"sync"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/internal/xdpexception"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// The check never sends from the sender's own address and never touches the
// learner's rules: pings from the host's address would move the counter of
// any rule that matches it, and taking such a rule out for a moment loses it
// when the check is killed. Instead the check gives the host source
// addresses of its own for a while, in a block that no rule touches, and
// installs rules of its own for them in free slots. The learner's rules and
// counters do not move (unless the program counts where it should not,
// which is what the check reports), and whatever the learner's rules are
// (the lab's subnet, the host's /32), a mistake cannot hide behind them.
// Every change is made under an undo record (labs.Env.WithUndo), so a kill
// at any point is taken back by the next command on the instance.

// Traffic of each phase.
const (
	pings      = 3
	datagrams  = 5
	udpPort    = 9
	udpPayload = 32
	// IPv6 frames (IPv6 is off in the lab: they are written raw and
	// witnessed at node1).
	echoes6     = 3
	datagrams6  = 2
	echoID6     = 0x6677 // "fw"
	udpSrcPort6 = 5000
	udpSrcPort4 = 6000 // the raw IPv4 frame of byte-swapped EtherType
)

// Frame lengths as the program sees them (data_end - data): Ethernet 14,
// IPv4 20, IPv6 40, ICMP and UDP headers 8, ping's 56 bytes of data.
const (
	pingFrame  = 14 + 20 + 8 + 56
	pingIP     = 20 + 8 + 56
	udpFrame   = 14 + 20 + 8 + udpPayload
	udpIP      = 20 + 8 + udpPayload
	echo6Frame = 14 + 40 + 8 + 56
	udp6Frame  = 14 + 40 + 8 + udpPayload
)

// EtherTypes of the frames that are not IP or not what their type field
// claims: IEEE's local experimental type, and IPv4's and IPv6's types as a
// program that forgets bpf_htons reads them.
const (
	etherLocal   = 0x88b5
	etherIPv4Swp = 0x0008
	etherIPv6Swp = 0xdd86
)

// sourceRanges are where the check looks for its own IPv4 source block,
// in order: the benchmarking range first (RFC 2544 sets it aside for test
// traffic), then private ranges. The addresses exist only inside the lab.
var sourceRanges = []netip.Prefix{
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("10.0.0.0/8"),
}

// blockBits is the size of the check's IPv4 block: its first host is the
// check's own source S, then node1's address N, then the second source S2.
const (
	blockBits = 29
	blockSize = 1 << (32 - blockBits)
)

// sourceRanges6 are the /32s the check's IPv6 block is taken from: the
// documentation ranges, then a unique local one. The block is the /64
// whose bits 32 to 63 are S's 32 bits, so that the IPv6 source carries S
// where an IPv4 header carries its source: a frame read with the wrong
// header still names a rule of the check.
var sourceRanges6 = [][4]byte{{0x20, 0x01, 0x0d, 0xb8}, {0x3f, 0xff, 0x0f, 0xff}, {0xfd, 0x78, 0x6c, 0x62}}

// undoKind names the check's undo record.
const undoKind = "check"

// Roles of the rules the check adds.
const (
	roleOwn     = "own"     // S/32: the pings and datagrams from S drop and count here
	roleWide    = "wide"    // the block: S2, only in it, drops and counts here
	roleDst     = "dst"     // node1's address: a program that looks up the destination hits it
	roleSwapped = "swapped" // S byte-swapped: a program that swaps the source hits it
	roleOwn6    = "own6"    // S6/128
	roleWide6   = "wide6"   // the /64 of S6 and S62
	roleDst6    = "dst6"    // the IPv6 frames' destination
	roleShort6  = "short6"  // the /32 around S6: a key with prefixlen 32 hits it
)

// checkRule is one rule the check adds for a while.
type checkRule struct {
	Role   string       `json:"role"`
	Prefix netip.Prefix `json:"prefix"`
	Index  uint32       `json:"index"`
}

// checkChange is everything the check changes for a while, as its undo
// record holds it.
type checkChange struct {
	// HostAddrs (S and S2, on the sender, host/veth0) are the sources of
	// the check's pings; Node1Addr (on the dut, node1/veth1) shares their
	// block, so node1 can reply.
	HostAddrs []netip.Prefix `json:"host_addrs"`
	Node1Addr netip.Prefix   `json:"node1_addr"`
	// Rules go into the blacklists at free indices; Slots hold the
	// counters of those indices on each CPU before, restored afterwards.
	Rules []checkRule         `json:"rules"`
	Slots map[uint32][][]byte `json:"slots"`
}

// rule is the check's rule of a role, and whether it has one.
func (ch checkChange) rule(role string) (checkRule, bool) {
	i := slices.IndexFunc(ch.Rules, func(r checkRule) bool { return r.Role == role })
	if i < 0 {
		return checkRule{}, false
	}
	return ch.Rules[i], true
}

// ipv6 reports whether the check adds IPv6 rules.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (ch checkChange) ipv6() bool {
	return slices.ContainsFunc(ch.Rules, func(r checkRule) bool { return r.Prefix.Addr().Is6() })
}

// Check sends from sources of its own that no rule matches: pings,
// datagrams (and in the ipv6 step IPv6 frames) must arrive and count
// nowhere. Then it adds its own rules for them in free slots, the lowest
// and the highest: the same traffic must be dropped and counted once per
// packet at its rule's index only, frames that are not IP must still
// pass, and nothing may go to XDP_ABORTED or back to the host.
// Afterwards the addresses, the rules and the counters of the slots are
// as they were before.
func (l *Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	ex := exercises[env.Options.Step]
	m, err := openMaps(env, false, ex.ipv6)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if got, want := m.withBytes(), ex.bytes; got != want {
		return nil, labs.Errorf(labs.ErrEnvironment, "map %s holds %d-byte counters, not what step %s expects: %s",
			matchesMap, m.matches.ValueSize(), labs.Step{Name: env.Options.Step}.Title(), env.RebuildFix())
	}
	rules, err := m.rules()
	if err != nil {
		return nil, err
	}
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	taken, err := labAddrs(sender, dut)
	if err != nil {
		return nil, err
	}
	ch, err := m.plan(rules, taken, dut.Addr.Addr(), ex.ipv6)
	if err != nil {
		return nil, err
	}
	c := &checker{env: env, ex: ex, m: m, rules: rules, ch: ch, sender: sender, dut: dut}
	c.exc, c.excErr = c.watchExceptions()
	if c.exc != nil {
		defer c.exc.Close()
	}
	err = env.WithUndo(l, undoKind, ch, func() error { return c.run(ctx) })
	return judge(c.facts()), err
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

// plan chooses the check's addresses and rules and their slots, or says
// why the learner's rules leave none and how to free them.
func (m *fwMaps) plan(rules []Rule, taken []netip.Prefix, dut netip.Addr, ipv6 bool) (checkChange, error) {
	var errs []error
	block, blocking := freeSource(rules, taken)
	if !block.IsValid() && len(blocking) == 0 {
		errs = append(errs, fmt.Errorf("cannot judge: the check sends from addresses of its own, but the addresses of host and node1 "+
			"take up every range it could use (%s): remove the ones you added (%s shows them) and check again",
			prefixList(sourceRanges), labs.Cmd(m.instance, "status")))
	} else if !block.IsValid() {
		errs = append(errs, cannotJudge(m.instance, blocking, prefixList(sourceRanges)))
	}
	var block6 netip.Prefix
	if ipv6 && block.IsValid() {
		var blocking6 []Rule
		block6, blocking6 = freeSource6(rules, block.Addr().Next())
		if !block6.IsValid() {
			var ranges []string
			for _, hi := range sourceRanges6 {
				ranges = append(ranges, sourceBlock6(hi, block.Addr().Next()).String())
			}
			errs = append(errs, cannotJudge(m.instance, blocking6, strings.Join(ranges, ", ")))
		}
	}
	if len(errs) > 0 {
		// Say too whether the rules leave room for the check's, as if it
		// had its block: both are for the learner to fix.
		if !block.IsValid() {
			block = sourceRanges[0]
		}
		if ipv6 && !block6.IsValid() {
			block6 = sourceBlock6(sourceRanges6[0], block.Addr().Next())
		}
		if _, err := m.allot(rules, block, block6, dut, ipv6); err != nil {
			errs = append(errs, err)
		}
		return checkChange{}, errors.Join(errs...)
	}
	return m.allot(rules, block, block6, dut, ipv6)
}

// allot chooses the check's addresses in block (and block6), its rules
// and their slots, or says why the rules leave too few free.
func (m *fwMaps) allot(rules []Rule, block, block6 netip.Prefix, dut netip.Addr, ipv6 bool) (checkChange, error) {
	s, n, s2 := block.Addr().Next(), block.Addr().Next().Next(), block.Addr().Next().Next().Next()
	ch := checkChange{
		HostAddrs: []netip.Prefix{netip.PrefixFrom(s, blockBits), netip.PrefixFrom(s2, blockBits)},
		Node1Addr: netip.PrefixFrom(n, blockBits),
		Slots:     map[uint32][][]byte{},
	}
	// Decoys only a mistaken program hits. One the learner has as a rule
	// already is theirs, and left out: their rule then bears the evidence.
	decoy := func(p netip.Prefix) bool {
		return !slices.ContainsFunc(rules, func(r Rule) bool { return r.Prefix == p })
	}
	type want struct {
		role string
		p    netip.Prefix
		low  bool // takes the lowest free slot rather than the highest
	}
	wanted := []want{{roleOwn, netip.PrefixFrom(s, 32), false}, {roleWide, block, true}}
	if ipv6 {
		s6 := block6.Addr().Next()
		wanted = append(wanted, want{roleOwn6, netip.PrefixFrom(s6, 128), false}, want{roleWide6, block6, true})
	}
	if p := netip.PrefixFrom(dut, 32); decoy(p) {
		wanted = append(wanted, want{roleDst, p, false})
	}
	if p := netip.PrefixFrom(swapped(s), 32); decoy(p) {
		wanted = append(wanted, want{roleSwapped, p, false})
	}
	if ipv6 {
		if p := netip.PrefixFrom(block6.Addr().Next().Next(), 128); decoy(p) {
			wanted = append(wanted, want{roleDst6, p, false})
		}
		wanted = append(wanted, want{roleShort6, netip.PrefixFrom(block6.Addr(), 32).Masked(), false})
	}

	// The wide rule counts at index 0 whatever the learner's rules are, so
	// that a program that takes index 0 for "no rule" always shows: when a
	// rule of the learner's has index 0, the check's shares its counter
	// for a while, which is restored afterwards like the check's own.
	free := freeIndices(rules, int(m.matches.MaxEntries()))
	zeroFree := len(free) > 0 && free[0] == 0
	if zeroFree {
		free = free[1:]
	}
	v4, v6 := 0, 0
	for _, w := range wanted {
		if w.p.Addr().Is6() {
			v6++
		} else {
			v4++
		}
	}
	have4, have6 := 0, 0
	for _, r := range rules {
		if r.Prefix.Addr().Is6() {
			have6++
		} else {
			have4++
		}
	}
	room := len(free) >= len(wanted)-1 && have4+v4 <= int(m.blacklist.MaxEntries())
	if ipv6 {
		room = room && have6+v6 <= int(m.blacklist6.MaxEntries())
	}
	if !room {
		return checkChange{}, fmt.Errorf("the check adds %d rules of its own for a while, but the %w for them (%d rules, %d free slots): remove %s with %s and check again",
			len(wanted), ErrFull, len(rules), len(free)+btoi(zeroFree), plural(max(len(wanted)-1-len(free), 1), "rule", "rules"), labs.Cmd(m.instance, "fw del CIDR"))
	}
	for _, w := range wanted {
		var index uint32
		switch {
		case w.role == roleWide:
			index = 0
		case w.low:
			index, free = free[0], free[1:]
		default:
			index, free = free[len(free)-1], free[:len(free)-1]
		}
		ch.Rules = append(ch.Rules, checkRule{Role: w.role, Prefix: w.p, Index: index})
		vals, err := m.slot(index)
		if err != nil {
			return checkChange{}, err
		}
		ch.Slots[index] = vals
	}
	return ch, nil
}

// cannotJudge says which rules of the learner's cover every address the
// check could send from, and how to remove one.
func cannotJudge(instance string, blocking []Rule, ranges string) error {
	slices.SortFunc(blocking, func(a, b Rule) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
	var names []string
	for _, r := range blocking {
		names = append(names, r.Prefix.String())
	}
	verb, fix := "covers", "remove it with "+labs.Cmd(instance, "fw del "+names[0])
	if len(names) > 1 {
		verb, fix = "cover", "remove one of them with "+labs.Cmd(instance, "fw del CIDR")
	}
	return fmt.Errorf("cannot judge under these rules: the check sends from addresses of its own that no rule matches, "+
		"to see that such packets pass, but %s %s every address it could use (%s): %s and check again",
		strings.Join(names, ", "), verb, ranges, fix)
}

// freeSource returns the first /29 block of sourceRanges that no rule and
// no taken subnet overlaps. When there is none, it returns the rules that
// covered the candidates.
func freeSource(rules []Rule, taken []netip.Prefix) (netip.Prefix, []Rule) {
	var blocking []Rule
	for _, rg := range sourceRanges {
		base := uint64(addrBits(rg.Addr()))
		end := base + 1<<(32-rg.Bits())
		for a := base; a+blockSize <= end; {
			block := netip.PrefixFrom(bitsAddr(uint32(a)), blockBits)
			// The widest rule or subnet in the way: skipping past it skips most.
			var skip netip.Prefix
			for _, r := range rules {
				if r.Prefix.Addr().Is4() && r.Prefix.Overlaps(block) && (!skip.IsValid() || r.Prefix.Bits() < skip.Bits()) {
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
				return block, nil
			}
			// On to the first block past it.
			past := uint64(addrBits(skip.Masked().Addr())) + 1<<(32-skip.Bits())
			a = max(a+blockSize, (past+blockSize-1)&^(blockSize-1))
		}
	}
	return netip.Prefix{}, blocking
}

// sourceBlock6 is the /64 of an IPv6 source range whose bits 32 to 63 are
// the IPv4 source s.
func sourceBlock6(hi [4]byte, s netip.Addr) netip.Prefix {
	var a [16]byte
	v4 := s.As4()
	copy(a[0:4], hi[:])
	copy(a[4:8], v4[:])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// freeSource6 returns the first IPv6 block for s that no IPv6 rule
// overlaps, or the rules in the way.
func freeSource6(rules []Rule, s netip.Addr) (netip.Prefix, []Rule) {
	var blocking []Rule
	for _, hi := range sourceRanges6 {
		block := sourceBlock6(hi, s)
		i := slices.IndexFunc(rules, func(r Rule) bool { return r.Prefix.Addr().Is6() && r.Prefix.Overlaps(block) })
		if i < 0 {
			return block, nil
		}
		if !slices.Contains(blocking, rules[i]) {
			blocking = append(blocking, rules[i])
		}
	}
	return netip.Prefix{}, blocking
}

// freeIndices lists, in order, the indices below capacity that no rule
// uses.
func freeIndices(rules []Rule, capacity int) []uint32 {
	var free []uint32
	for i := range uint32(capacity) {
		if !slices.ContainsFunc(rules, func(r Rule) bool { return r.Index == i }) {
			free = append(free, i)
		}
	}
	return free
}

// swapped is a in the other byte order: what a program that converts the
// source with bpf_ntohl looks up.
func swapped(a netip.Addr) netip.Addr {
	b := a.As4()
	return netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]})
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

// checker runs the check's phases and keeps what they saw.
type checker struct {
	env         *labs.Env
	ex          exercise
	m           *fwMaps
	rules       []Rule // the learner's
	ch          checkChange
	sender, dut topology.Place
	exc         *xdpexception.Watcher // nil when excErr says why
	excErr      error
	pass, drop  phase
}

// phase is what one phase's traffic saw and made the program do.
type phase struct {
	ran bool
	// IPv4 from S (and S2 in the drop phase).
	pings, pings2 grade.Pinged
	udp           grade.Delivered
	// IPv6 from S6 (and S62 in the drop phase), in the ipv6 step.
	frames6, frames62 grade.Written
	// Frames that are not IPv4 (or IPv6) but carry the check's sources
	// where a mistaken program reads them, in the drop phase.
	local, ipv4Swapped, ipv6Swapped grade.Written
	// What the phase made matches count, and the exceptions the kernel
	// traced for the program.
	packets, bytes grade.Counters[uint32]
	exceptions     xdpexception.Counts
	// back are the host's own frames that came back to it.
	back []witness.Frame
}

// watchExceptions starts counting the exceptions of the program attached
// at the lab's interface. Without the tracepoint (no tracefs) the check
// still runs, and says it could not look.
func (c *checker) watchExceptions() (*xdpexception.Watcher, error) {
	p, ok, err := attached.XDP(c.dut.NS, c.dut.Iface)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("no XDP program is attached to %s/%s", c.dut.Node, c.dut.Iface)
	}
	return xdpexception.Watch(p.ID)
}

// run makes the check's changes (under its undo record) and drives both
// phases: no rule for the sources, then the check's rules for them. What
// went wrong with the traffic is evidence for the expectations; an error
// means the check could not run.
func (c *checker) run(ctx context.Context) error {
	for _, a := range c.ch.HostAddrs {
		if err := addAddr(c.sender, a); err != nil {
			return err
		}
	}
	if err := addAddr(c.dut, c.ch.Node1Addr); err != nil {
		return err
	}
	// The decoys are in place in both phases: only a mistaken program
	// ever matches them.
	if err := c.install(roleDst, roleSwapped, roleDst6); err != nil {
		return err
	}
	if err := c.measure(ctx, &c.pass, c.passTraffic(ctx)); err != nil {
		return err
	}
	if err := c.install(roleOwn, roleWide, roleOwn6, roleWide6, roleShort6); err != nil {
		return err
	}
	back, err := witness.Open(c.sender.NS, c.sender.Iface, witness.Options{Direction: witness.In})
	if err != nil {
		return err
	}
	defer back.Close()
	if err := c.measure(ctx, &c.drop, c.dropTraffic(ctx)); err != nil {
		return err
	}
	frames, err := back.Frames(grade.Quiet)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if slices.Equal(f.Data[6:12], c.sender.MAC) {
			c.drop.back = append(c.drop.back, f)
		}
	}
	return nil
}

// install adds the check's rules of these roles, those it has. A rule
// that someone put in meanwhile is not the check's to add (nor to remove).
func (c *checker) install(roles ...string) error {
	for _, role := range roles {
		r, ok := c.ch.rule(role)
		if !ok {
			continue
		}
		if err := c.m.put(r.Prefix, r.Index, ebpf.UpdateNoExist); err != nil {
			return err
		}
	}
	return nil
}

// measure runs a phase's traffic, all of it at once, and records what it
// made the program count and raise.
func (c *checker) measure(ctx context.Context, ph *phase, traffic []func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	packets, bytes, err := c.m.counts()
	if err != nil {
		return err
	}
	exc := c.exceptions()
	errs := make([]error, len(traffic))
	var wg sync.WaitGroup
	for i, send := range traffic {
		wg.Go(func() { errs[i] = send() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	packets2, bytes2, err := c.m.counts()
	if err != nil {
		return err
	}
	ph.ran = true
	ph.packets, ph.bytes = packets2.Sub(packets), bytes2.Sub(bytes)
	ph.exceptions = c.exceptions().Sub(exc)
	return nil
}

// exceptions reads the exception counts, none when they cannot be read
// (excErr says why).
func (c *checker) exceptions() xdpexception.Counts {
	if c.exc == nil {
		return xdpexception.Counts{}
	}
	n, err := c.exc.Counts()
	if err != nil {
		c.excErr = err
		return xdpexception.Counts{}
	}
	return n
}

// sources are the check's addresses: S, S2 and node1's N, and in the ipv6
// step S6, S62 and the frames' destination D6.
func (c *checker) sources() (s, s2, n, s6, s62, d6 netip.Addr) {
	s, s2, n = c.ch.HostAddrs[0].Addr(), c.ch.HostAddrs[1].Addr(), c.ch.Node1Addr.Addr()
	if r, ok := c.ch.rule(roleWide6); ok {
		s6 = r.Prefix.Addr().Next()
		d6, s62 = s6.Next(), s6.Next().Next()
	}
	return
}

// from is the sender with a source address of the check's.
func (c *checker) from(a netip.Addr) topology.Place {
	p := c.sender
	p.Addr = netip.PrefixFrom(a, blockBits)
	return p
}

// node1 is the dut at the check's address in its block.
func (c *checker) node1() topology.Place {
	p := c.dut
	p.Addr = c.ch.Node1Addr
	return p
}

// passTraffic: pings and datagrams from S, and IPv6 frames from S6, which
// no rule matches yet.
func (c *checker) passTraffic(ctx context.Context) []func() error {
	s, _, _, s6, _, d6 := c.sources()
	ph := &c.pass
	traffic := []func() error{
		func() (err error) { ph.pings, err = grade.Pings(ctx, c.from(s), c.dut.Addr.Addr(), pings); return err },
		func() (err error) {
			ph.udp, err = grade.Datagrams(ctx, c.sender, c.node1(), udpPort, datagrams, udpPayload)
			return err
		},
	}
	if c.ex.ipv6 {
		traffic = append(traffic, func() (err error) {
			ph.frames6, err = c.frames6(ctx, s6, d6, 1, true)
			return err
		})
	}
	return traffic
}

// dropTraffic: the pass phase's traffic again, now that S and S6 have
// their /32 and /128, pings from S2 and IPv6 frames from S62, which only
// the wide rules contain, and the frames that are not what a mistaken
// program takes them for.
func (c *checker) dropTraffic(ctx context.Context) []func() error {
	s, s2, n, s6, s62, d6 := c.sources()
	ph := &c.drop
	traffic := []func() error{
		func() (err error) { ph.pings, err = grade.Pings(ctx, c.from(s), c.dut.Addr.Addr(), pings); return err },
		func() (err error) {
			ph.pings2, err = grade.Pings(ctx, c.from(s2), c.dut.Addr.Addr(), pings)
			return err
		},
		func() (err error) {
			ph.udp, err = grade.Datagrams(ctx, c.sender, c.node1(), udpPort, datagrams, udpPayload)
			return err
		},
	}
	if c.ex.ipv6 {
		traffic = append(traffic,
			func() (err error) { ph.frames6, err = c.frames6(ctx, s6, d6, 1, true); return err },
			func() (err error) { ph.frames62, err = c.frames6(ctx, s62, d6, 1+echoes6, false); return err },
		)
	}
	// The IPv6 source's bytes 4 to 7 are S (sourceBlock6): read as IPv4,
	// these frames come from S; read as IPv6, from S6.
	if s6 == (netip.Addr{}) {
		s6 = sourceBlock6(sourceRanges6[0], s).Addr().Next()
		d6 = s6.Next()
	}
	echo := func(id uint16) []byte {
		f, _ := packet.ICMPv6Echo{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: s6, Dst: d6, ID: id, Seq: 1, Payload: make([]byte, 56)}.Bytes()
		return f
	}
	local, swapped6 := echo(echoID6+1), echo(echoID6+2)
	binary.BigEndian.PutUint16(local[12:], etherLocal)
	binary.BigEndian.PutUint16(swapped6[12:], etherIPv6Swp)
	swapped4, _ := packet.UDPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC,
		Src: netip.AddrPortFrom(s, udpSrcPort4), Dst: netip.AddrPortFrom(n, udpPort), Payload: make([]byte, udpPayload)}.Bytes()
	binary.BigEndian.PutUint16(swapped4[12:], etherIPv4Swp)
	return append(traffic,
		func() (err error) {
			ph.local, err = grade.Frames(ctx, c.sender, c.dut, "a frame of EtherType 0x88b5 (not IP)", etherLocal, [][]byte{local})
			return err
		},
		func() (err error) {
			ph.ipv4Swapped, err = grade.Frames(ctx, c.sender, c.dut, "a frame of EtherType 0x0008 (IPv4's 0x0800 byte-swapped)", etherIPv4Swp, [][]byte{swapped4})
			return err
		},
		func() (err error) {
			ph.ipv6Swapped, err = grade.Frames(ctx, c.sender, c.dut, "a frame of EtherType 0xdd86 (IPv6's 0x86dd byte-swapped)", etherIPv6Swp, [][]byte{swapped6})
			return err
		},
	)
}

// frames6 writes IPv6 frames from src to dst at node1: echoes6 echo
// requests (sequence numbers from seq), and with udp datagrams6 UDP
// datagrams too.
func (c *checker) frames6(ctx context.Context, src, dst netip.Addr, seq int, udp bool) (grade.Written, error) {
	var frames [][]byte
	for i := range echoes6 {
		f, err := packet.ICMPv6Echo{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: src, Dst: dst,
			ID: echoID6, Seq: uint16(seq + i), Payload: make([]byte, 56)}.Bytes()
		if err != nil {
			return grade.Written{}, fmt.Errorf("build icmpv6 frame: %w", err)
		}
		frames = append(frames, f)
	}
	what := fmt.Sprintf("%d ICMPv6 echo requests", echoes6)
	if udp {
		for i := range datagrams6 {
			f, err := packet.UDPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC,
				Src: netip.AddrPortFrom(src, udpSrcPort6+uint16(i)), Dst: netip.AddrPortFrom(dst, udpPort), Payload: make([]byte, udpPayload)}.Bytes()
			if err != nil {
				return grade.Written{}, fmt.Errorf("build ipv6 udp frame: %w", err)
			}
			frames = append(frames, f)
		}
		what += fmt.Sprintf(" and %d UDP datagrams", datagrams6)
	}
	return grade.Frames(ctx, c.sender, c.dut, fmt.Sprintf("%s %s -> %s", what, src, dst), packet.EtherTypeIPv6, frames)
}

// Undo takes the check's changes back, in any state a kill left them: the
// addresses first, so no packet from the check's sources comes after, then
// the rules, then the counters of their slots. Whatever is already gone
// (with its namespace or pin, or never made) counts as taken back.
func (*Lab) Undo(env *labs.Env, rec labs.UndoRecord) error {
	var ch checkChange
	if err := json.Unmarshal(rec.Data, &ch); err != nil {
		return fmt.Errorf("undo record of the check: %w", err)
	}
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	var errs []error
	var hosts []netip.Addr
	for _, a := range ch.HostAddrs {
		errs = append(errs, delAddr(sender, a, ch.Node1Addr.Addr()))
		hosts = append(hosts, a.Addr())
	}
	if ch.Node1Addr.IsValid() {
		errs = append(errs, delAddr(dut, ch.Node1Addr, hosts...))
	}
	m, err := openMaps(env, false, ch.ipv6())
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The pins are gone, and the maps with them.
	case err != nil:
		errs = append(errs, err)
	default:
		defer m.Close()
		removed := true
		for _, r := range ch.Rules {
			if err := m.remove(r.Prefix); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				errs, removed = append(errs, err), false
			}
		}
		// Counters only once no rule of the check can count any more.
		for index, vals := range ch.Slots {
			if removed {
				errs = append(errs, m.setSlot(index, vals))
			}
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
// the neighbour entries the check's traffic made there for the peers'
// addresses.
func delAddr(at topology.Place, p netip.Prefix, peers ...netip.Addr) error {
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
	for _, peer := range peers {
		neigh := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: unix.AF_INET, IP: net.IP(peer.AsSlice())}
		if err := h.NeighDel(neigh); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove the neighbour %s of %s/%s: %w", peer, at.Node, at.Iface, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}
}

// plural is "1 rule", "3 rules".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
