package basicfirewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/xdpexception"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// exercise is what a step expects, and where its starter leaves each part
// of the program to the learner: " (TODO 1 in basic_firewall.c)", or ""
// where the step's starter has it written, so that a hint sends the
// learner to the gap they filled.
type exercise struct {
	bytes, ipv6 bool
	// IPv4: the key and the lookup, the index into matches, the
	// counting, the verdict.
	lookup, index, count, drop string
	// bytes: where packets and bytes are added up.
	stats string
	// IPv6: the header, and the lookup with its verdict.
	header6, lookup6 string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in basic_firewall.c)", n) }

var exercises = map[string]exercise{
	"":        {lookup: todo(1), index: todo(2), count: todo(2), drop: todo(3)},
	stepBytes: {bytes: true, count: todo(1), stats: todo(1)},
	stepIPv6:  {ipv6: true, header6: todo(1), lookup6: todo(2)},
}

// facts are what the check saw, everything its expectations and hints
// are judged from.
type facts struct {
	ex    exercise
	ch    checkChange
	rules []Rule // the learner's
	// dst is node1's own address, the pings' destination.
	dst        netip.Addr
	pass, drop phase
	// excErr says why exceptions could not be watched.
	excErr error
	// rebuild is the command line that builds the lab again, for traffic
	// the lab's network could not carry.
	rebuild string
	// notSent is, per source of pings, why pinging stopped before its end
	// ("" when it did not): the network, not the program.
	notSent map[netip.Addr]string
}

func (c *checker) facts() facts {
	f := facts{ex: c.ex, ch: c.ch, rules: c.rules, dst: c.dut.Addr.Addr(), pass: c.pass, drop: c.drop,
		excErr: c.excErr, rebuild: c.env.RebuildFix(), notSent: map[netip.Addr]string{}}
	for _, p := range []grade.Pinged{c.pass.pings, c.drop.pings, c.drop.pings2} {
		if h := p.NotSentHint(c.env); h != "" && p.From.Addr.IsValid() {
			f.notSent[p.From.Addr.Addr()] = h
		}
	}
	return f
}

// judge turns what the check saw into its expectations, in the order the
// traffic went: the phase without rules, then the phase with the check's
// rules. A phase that did not run has none.
func judge(f facts) []labs.Result {
	var out []labs.Result
	if f.pass.ran {
		out = append(out, f.passResults()...)
	}
	if f.drop.ran {
		out = append(out, f.dropResults()...)
	}
	return out
}

// Generic hints, for failures no evidence explains further.
const (
	hintPass = "a source that no rule contains must pass: return XDP_PASS when the blacklist lookup returns NULL " +
		"(and for anything that is not IPv4, such as ARP)"
	hintNoCount = "count only packets that a rule matched and that you drop"
	hintDrop    = "the program must return XDP_DROP when the source address is in blacklist: " +
		"look it up with a key {prefixlen = 32, addr = ip->saddr} (network byte order, as in the packet)"
	hintOther = "count only at the index the blacklist lookup returned, once per dropped packet"
)

// hintDestination is the hint when packets were dropped or counted by a
// rule that contains their destination but not their source.
func hintDestination(rule netip.Prefix, dst, src netip.Addr, where string) string {
	field := "ip"
	if src.Is6() {
		field = "ip6"
	}
	return fmt.Sprintf("rule %s contains the packets' destination %s, not their source %s: "+
		"look up the source address (%s->saddr), not the destination (%s->daddr)%s", rule, dst, src, field, field, where)
}

// matchesKey names a counter of matches in observed text: "matches[3]".
func matchesKey(index uint32) string { return fmt.Sprintf("%s[%d]", matchesMap, index) }

// sources of the check, from its plan.
func (f facts) s() netip.Addr  { return f.ch.HostAddrs[0].Addr() }
func (f facts) s2() netip.Addr { return f.ch.HostAddrs[1].Addr() }
func (f facts) n() netip.Addr  { return f.ch.Node1Addr.Addr() }

func (f facts) s6() netip.Addr {
	r, _ := f.ch.rule(roleWide6)
	return r.Prefix.Addr().Next()
}

// describe is "the check's rule 198.18.0.1/32 at index 15".
func (f facts) describe(role string) string {
	r, _ := f.ch.rule(role)
	for _, l := range f.rules {
		if l.Index == r.Index {
			return fmt.Sprintf("the check's rule %s at index %d, shared for now with your rule %s", r.Prefix, r.Index, l.Prefix)
		}
	}
	return fmt.Sprintf("the check's rule %s at index %d", r.Prefix, r.Index)
}

// counted is what the check's rule of a role counted in a phase (0 when
// the check has no such rule).
func (ph phase) counted(f facts, role string) uint64 {
	r, ok := f.ch.rule(role)
	if !ok {
		return 0
	}
	return ph.packets[r.Index]
}

// first is the first hint that is not empty.
func first(hints ...string) string {
	for _, h := range hints {
		if h != "" {
			return h
		}
	}
	return ""
}

// learnerRules lists the learner's rules: "no rule of 10.0.0.0/8 matches
// it", or that the blacklist is empty.
func (f facts) because() string {
	if len(f.rules) == 0 {
		return "the blacklist is empty"
	}
	var have []string
	for _, r := range f.rules {
		have = append(have, r.Prefix.String())
	}
	return "no rule of " + strings.Join(have, ", ") + " matches it"
}

// sendFailure is the hint for datagrams that could not be sent.
func (f facts) sendFailure(d grade.Delivered) string {
	if d.Failure == nil {
		return ""
	}
	return fmt.Sprintf("sending the datagrams from host failed (%v), so your program never saw them: the lab's network is not as up left it: %s", d.Failure, f.rebuild)
}

// Evidence: hints that name a mistake, or "" when the check saw no sign
// of it.

// destination: a rule for the pings' destination counted them, in the
// phase without the check's rules for the sources: there only a lookup of
// the destination hits it, while in the other a program that miscomputes
// the index might count there too.
func (f facts) destination(phase) string {
	ph := f.pass
	if r, ok := f.ch.rule(roleDst); ok {
		if ph.packets[r.Index] == 0 {
			return ""
		}
		return hintDestination(r.Prefix, f.dst, f.s(), "") + " (" + f.describe(roleDst) + " counted them)" + f.ex.lookup
	}
	// Without the check's decoy (the learner has the very rule), the
	// learner's rule that the trie returns for the destination bears the
	// evidence: the longest that contains it.
	var longest *Rule
	for i, r := range f.rules {
		if r.Prefix.Contains(f.dst) && (longest == nil || r.Prefix.Bits() > longest.Prefix.Bits()) {
			longest = &f.rules[i]
		}
	}
	if longest != nil && ph.packets[longest.Index] > 0 && !longest.Prefix.Contains(f.s()) {
		return hintDestination(longest.Prefix, f.dst, f.s(), f.ex.lookup)
	}
	return ""
}

// byteOrder: the rule for S byte-swapped counted, in the phase without
// the check's rules for the sources (as for destination).
func (f facts) byteOrder() string {
	r, ok := f.ch.rule(roleSwapped)
	if !ok || f.pass.packets[r.Index] == 0 {
		return ""
	}
	return fmt.Sprintf("%s, the check's source %s byte-swapped, counted packets from %s: the key holds the source in host byte order; "+
		"put ip->saddr into the key as it is, in network byte order like the rules (no bpf_ntohl)%s", f.describe(roleSwapped), f.s(), f.s(), f.ex.lookup)
}

// etherType: the IPv4 frame whose EtherType field reads 0x0008 was
// dropped, as a program that compares with ETH_P_IP unconverted does.
func (f facts) etherType() string {
	d := f.drop
	// A program that reads every frame as IPv4 drops the frame that is
	// not IP too: that is another mistake.
	if !d.ran || d.ipv4Swapped.Arrived > 0 || d.ipv4Swapped.Failure != nil || d.local.Arrived == 0 {
		return ""
	}
	return "the frame of EtherType 0x0008 (IPv4's 0x0800 byte-swapped) was dropped as if it were IPv4: compare h_proto with " +
		"bpf_htons(ETH_P_IP), the EtherType in network byte order; ETH_P_IP as it is (0x0800) reads 0x0008 from a little-endian frame, so real IPv4 never matches"
}

// actions: the program raised exceptions in a phase.
func (f facts) actions(ph phase, where string) string {
	exc := ph.exceptions
	switch {
	case exc[xdpexception.Aborted] > 0:
		return fmt.Sprintf("%s went to XDP_ABORTED: return XDP_DROP to drop a packet; XDP_ABORTED means the program failed, and the kernel traces it as an exception%s",
			plural(int(exc[xdpexception.Aborted]), "packet", "packets"), where)
	case exc[xdpexception.Unknown] > 0:
		return fmt.Sprintf("the program returned a value that is no XDP action for %s: the kernel drops such packets and warns; return XDP_DROP or XDP_PASS%s",
			plural(int(exc[xdpexception.Unknown]), "packet", "packets"), where)
	case exc[xdpexception.TX] > 0 || len(ph.back) > 0:
		n := max(len(ph.back), int(exc[xdpexception.TX]))
		return fmt.Sprintf("%s came back out of node1/veth1 towards the host: the program sent them back (XDP_TX) instead of dropping them; return XDP_DROP%s",
			plural(n, "of the host's packets", "of the host's packets"), where)
	}
	return ""
}

// passResults: the pings and datagrams from S (and IPv6 frames from S6)
// arrive, and nothing counts them.
func (f facts) passResults() []labs.Result {
	ph := f.pass
	s := f.s()
	pass := func(notSent string) string {
		return first(notSent, f.destination(ph), f.byteOrder(), f.actions(ph, f.ex.drop), f.countedUnmatched(ph), hintPass+f.ex.lookup)
	}
	out := []labs.Result{
		grade.PingsAnswered(fmt.Sprintf("%d pings %s -> %s are answered (the check's own source; %s)", pings, s, f.dst, f.because()),
			ph.pings, pass(f.notSent[s])),
		grade.DatagramsArrived(fmt.Sprintf("%d UDP datagrams %s -> %s:%d arrive (the same source)", datagrams, s, f.n(), udpPort),
			ph.udp, pass(f.sendFailure(ph.udp))),
	}
	if f.ex.ipv6 {
		out = append(out, grade.FramesArrived(fmt.Sprintf("%s arrive (the check's own IPv6 source; no IPv6 rule matches it)", ph.frames6.What),
			ph.frames6, first(f.destination6(ph), f.actions(ph, f.ex.lookup6),
				"an IPv6 source that no rule contains must pass: return XDP_PASS when the blacklist6 lookup returns NULL"+f.ex.lookup6)))
	}
	notSent := first(f.notSent[s], f.sendFailure(ph.udp))
	out = append(out, grade.NothingElse("no rule counts them", ph.packets, matchesKey,
		first(notSent, f.destination(ph), f.destination6(ph), f.byteOrder(), f.countedUnmatched(ph), hintNoCount+f.ex.count)))
	return out
}

// countedUnmatched: something counted although no rule contains the
// sources.
func (f facts) countedUnmatched(ph phase) string {
	if ph.packets.Total() == 0 {
		return ""
	}
	return fmt.Sprintf("%s counted packets from %s, which no rule contains: count only after the blacklist lookup found a rule, at the index it returned%s",
		ph.packets.Format(matchesKey), f.s(), f.ex.count)
}

// flow is one stream of the drop phase: what was sent, from where, under
// which of the check's rules, and whether it was dropped.
type flow struct {
	what    string
	count   int
	src     netip.Addr
	role    string
	dropped bool
	notSent string
}

func (f facts) flows() (pingS, udpS, pingS2 flow) {
	d := f.drop
	pingS = flow{"pings", pings, f.s(), roleOwn, d.pings.Received == 0 && d.pings.Failure == nil, f.notSent[f.s()]}
	udpS = flow{"datagrams", datagrams, f.s(), roleOwn, d.udp.Arrived == 0 && d.udp.Failure == nil, f.sendFailure(d.udp)}
	pingS2 = flow{"pings", pings, f.s2(), roleWide, d.pings2.Received == 0 && d.pings2.Failure == nil, f.notSent[f.s2()]}
	return
}

// nothingMatched: nothing from the check's IPv4 sources was dropped or
// counted once its rules were in: the lookup never found them.
func (f facts) nothingMatched() bool {
	pingS, udpS, pingS2 := f.flows()
	return !pingS.dropped && !udpS.dropped && !pingS2.dropped &&
		f.drop.counted(f, roleOwn)+f.drop.counted(f, roleWide) == 0
}

// noMatchHint is the hint when the lookup found none of the check's rules.
func (f facts) noMatchHint() string {
	return "no rule matched the check's sources: build the key {prefixlen = 32, addr = ip->saddr} and look it up in blacklist" + f.ex.lookup +
		", add 1 at matches[*rule]" + f.ex.count + " and return XDP_DROP" + f.ex.drop
}

// dropHint explains why a flow of the drop phase was not dropped.
func (f facts) dropHint(fl flow) string {
	pingS, udpS, _ := f.flows()
	r, _ := f.ch.rule(fl.role)
	var protocol, index0, counted string
	switch {
	case fl.what == "datagrams" && pingS.dropped:
		protocol = fmt.Sprintf("the pings from %s were dropped, its datagrams were not: a rule drops every packet from its source, whatever its protocol; do not test ip->protocol%s", fl.src, f.ex.drop)
	case fl.what == "pings" && fl.role == roleOwn && udpS.dropped:
		protocol = fmt.Sprintf("the datagrams from %s were dropped, its pings were not: a rule drops every packet from its source, whatever its protocol; do not test ip->protocol%s", fl.src, f.ex.drop)
	}
	if fl.role == roleWide {
		index0 = f.indexZero()
	}
	if f.drop.packets[r.Index] >= uint64(fl.count) {
		counted = fmt.Sprintf("they were counted at %s but not dropped: return XDP_DROP once the lookup found a rule%s", matchesKey(r.Index), f.ex.drop)
	}
	var nothing string
	if f.nothingMatched() {
		nothing = f.noMatchHint()
	}
	return first(fl.notSent, f.etherType(), f.byteOrder(), f.destination(f.drop), protocol, index0, counted,
		f.actions(f.drop, f.ex.drop), nothing, hintDrop+f.ex.lookup+f.ex.drop)
}

// indexZero: the check's rule at index 0 neither dropped nor counted its
// source, while its rule at another index did: the program takes index 0
// for "no rule".
func (f facts) indexZero() string {
	pingS, udpS, pingS2 := f.flows()
	wide, _ := f.ch.rule(roleWide)
	if wide.Index != 0 || pingS2.dropped || f.drop.packets[0] > 0 || !(pingS.dropped || udpS.dropped) {
		return ""
	}
	return fmt.Sprintf("the check's rule %s at index 0 neither dropped nor counted %s, while the rule at index %d dropped %s: index 0 is a rule too; "+
		"test whether the lookup returned NULL, not whether the index it points to is 0%s", wide.Prefix, f.s2(), f.ruleIndex(roleOwn), f.s(), f.ex.lookup)
}

// ruleIndices are the indices of the check's rules of these roles, those
// it has.
func (f facts) ruleIndices(roles ...string) []uint32 {
	var out []uint32
	for _, role := range roles {
		if r, ok := f.ch.rule(role); ok {
			out = append(out, r.Index)
		}
	}
	return out
}

func (f facts) ruleIndex(role string) uint32 {
	r, _ := f.ch.rule(role)
	return r.Index
}

// dropResults: the check's rules in place, every flow is dropped and
// counted once per packet at its rule's index, nothing else counts, frames
// that are not IP pass, and nothing goes to XDP_ABORTED or back.
func (f facts) dropResults() []labs.Result {
	d := f.drop
	s, s2 := f.s(), f.s2()
	pingS, udpS, pingS2 := f.flows()
	own, _ := f.ch.rule(roleOwn)
	wide, _ := f.ch.rule(roleWide)
	out := []labs.Result{
		grade.PingsUnanswered(fmt.Sprintf("%d pings %s -> %s get no reply (%s)", pings, s, f.dst, f.describe(roleOwn)), d.pings, f.dropHint(pingS)),
		labs.Assert(fmt.Sprintf("%d UDP datagrams %s -> %s:%d are dropped (%s)", datagrams, s, f.n(), udpPort, f.describe(roleOwn)),
			udpS.dropped, fmt.Sprintf("0 of %d datagrams arrived", datagrams), d.udp.String(), f.dropHint(udpS)),
		grade.PingsUnanswered(fmt.Sprintf("%d pings %s -> %s get no reply (%s; %s does not contain %s)", pings, s2, f.dst, f.describe(roleWide), own.Prefix, s2),
			d.pings2, f.dropHint(pingS2)),
	}
	ownWant, wideWant := uint64(pings+datagrams), uint64(pings)
	ownHint := f.countHint(own, ownWant, first(pingS.notSent, udpS.notSent), pingS.dropped || udpS.dropped)
	wideHint := f.countHint(wide, wideWant, pingS2.notSent, pingS2.dropped)
	out = append(out,
		grade.ExactCount(fmt.Sprintf("%s (the check's rule %s) counts the %d echo requests and %d datagrams from %s", matchesKey(own.Index), own.Prefix, pings, datagrams, s),
			ownWant, d.packets[own.Index], ownHint),
		grade.ExactCount(fmt.Sprintf("%s (the check's rule %s) counts the %d echo requests from %s", matchesKey(wide.Index), wide.Prefix, pings, s2),
			wideWant, d.packets[wide.Index], wideHint))
	if f.ex.bytes {
		ownFrames := append(repeat(sent{pingFrame, pingIP}, pings), repeat(sent{udpFrame, udpIP}, datagrams)...)
		wideFrames := repeat(sent{pingFrame, pingIP}, pings)
		// Where the packets are miscounted, that is what the bytes show too.
		if d.packets[own.Index] == ownWant {
			ownHint = ""
		}
		if d.packets[wide.Index] == wideWant {
			wideHint = ""
		}
		out = append(out,
			grade.ExactCount(fmt.Sprintf("%s.bytes adds up their frames: %d × %d + %d × %d bytes", matchesKey(own.Index), pings, pingFrame, datagrams, udpFrame),
				frameBytes(ownFrames), d.bytes[own.Index], first(ownHint, f.bytesHint(d.bytes[own.Index], d.packets[own.Index], ownFrames))),
			grade.ExactCount(fmt.Sprintf("%s.bytes adds up their frames: %d × %d bytes", matchesKey(wide.Index), pings, pingFrame),
				frameBytes(wideFrames), d.bytes[wide.Index], first(wideHint, f.bytesHint(d.bytes[wide.Index], d.packets[wide.Index], wideFrames))))
	}
	expected := []uint32{own.Index, wide.Index}
	if f.ex.ipv6 {
		out = append(out, f.drop6Results()...)
		expected = append(expected, f.ruleIndex(roleOwn6), f.ruleIndex(roleWide6))
	}
	out = append(out,
		grade.NothingElse("no other rule counts them", d.packets.Except(expected...), matchesKey,
			first(pingS.notSent, pingS2.notSent, udpS.notSent, f.byteOrder(), f.destination(d), f.destination6(d), f.short6(),
				f.shifted(), f.elsewhere(d.packets.Except(expected...)), hintOther+f.ex.count)))
	out = append(out, f.foreignResults()...)
	return append(out, f.actionResult())
}

// countHint explains a counter of the drop phase that did not count want.
// dropped says whether the packets it should have counted were dropped.
func (f facts) countHint(r checkRule, want uint64, notSent string, dropped bool) string {
	d := f.drop
	got := d.packets[r.Index]
	foreign := uint64(f.foreignDropped())
	switch {
	case notSent != "":
		return notSent
	case f.destination(d) != "":
		return f.destination(d)
	case f.byteOrder() != "":
		return f.byteOrder()
	case f.etherType() != "":
		return f.etherType()
	case f.ex.bytes && got > want && f.drop.bytes[r.Index] == want:
		return "packets and bytes are swapped: add 1 to stats->packets and the frame's length to stats->bytes" + f.ex.stats
	case got > want && got%want == 0:
		return fmt.Sprintf("each packet was counted %d times: add 1 once per packet, in one place%s", got/want, f.ex.count)
	case got == want+foreign && foreign > 0:
		return fmt.Sprintf("%s counted %d more than the check sent from %s: the %s that are not IPv4 but were dropped all the same; check eth->h_proto before reading the IP header",
			matchesKey(r.Index), foreign, r.Prefix, plural(int(foreign), "frame", "frames"))
	case f.onlyZero() != "" && r.Index != 0 || f.onlyZero() != "" && got != want:
		return f.onlyZero()
	case f.indexZero() != "" && r.Role == roleWide:
		return f.indexZero()
	case got == 0 && f.nothingMatched():
		return first(f.etherType(), f.byteOrder(), f.destination(d), f.noMatchHint())
	case got == 0 && dropped && d.packets.Total() == 0:
		return fmt.Sprintf("the packets were dropped but not counted: add 1 at matches[*rule], the counter of the rule the lookup returned%s", f.ex.count)
	}
	if k, ok := d.packets.Except(f.ruleIndices(roleOwn6, roleWide6)...).Elsewhere(r.Index, want); ok {
		return fmt.Sprintf("the %d packets were counted under %s%s, not %s: use the value the lookup returned (*rule) as the index into matches%s",
			want, matchesKey(k), f.ruleName(k), matchesKey(r.Index), f.ex.index)
	}
	if h := f.shifted(); h != "" {
		return h
	}
	if r.Role == roleOwn && got > 0 && got < want {
		switch got {
		case pings:
			return fmt.Sprintf("only the echo requests were counted, not the datagrams: count every packet a rule drops, whatever its protocol%s", f.ex.count)
		case datagrams:
			return fmt.Sprintf("only the datagrams were counted, not the echo requests: count every packet a rule drops, whatever its protocol%s", f.ex.count)
		}
	}
	return fmt.Sprintf("count each dropped packet once, at the index the blacklist lookup returned (a lookup in a PERCPU_ARRAY returns this CPU's slot: add 1 to it)%s", f.ex.count)
}

// onlyZero: every count of the drop phase went to index 0, though the
// check's rules that matched have other indices too.
func (f facts) onlyZero() string {
	d := f.drop.packets
	if d.Total() == 0 || d[0] != d.Total() || f.drop.counted(f, roleOwn) == d.Total() && f.ruleIndex(roleOwn) == 0 {
		return ""
	}
	return fmt.Sprintf("every count went to index 0 (matches[0] +%d), whatever rule matched: use the index the lookup returned (*rule), not 0%s", d[0], f.ex.index)
}

// shifted: the packets of the check's wide rule were counted at another
// index, as a program that computes the index from the rule's counts
// them (*rule + 1); the own rule, at the highest index, then counts past
// the end of matches, that is nowhere.
func (f facts) shifted() string {
	wide, _ := f.ch.rule(roleWide)
	k, ok := f.drop.packets.Except(f.ruleIndices(roleOwn6, roleWide6)...).Elsewhere(wide.Index, pings)
	if !ok || slices.ContainsFunc(f.ch.Rules, func(r checkRule) bool { return r.Index == k }) {
		return ""
	}
	return fmt.Sprintf("the counts land %+d slots from the rule's index: the %d packets of %s went to %s; a rule at the last index counts past the end of matches, that is nowhere: "+
		"use the value the lookup returned (*rule) as the index, unchanged%s", int(k)-int(wide.Index), pings, f.describe(roleWide), matchesKey(k), f.ex.index)
}

// ruleName names whose index k is: " (the check's rule 198.18.0.0/29)",
// " (your rule 10.0.0.0/8)", or "".
func (f facts) ruleName(k uint32) string {
	for _, r := range f.ch.Rules {
		if r.Index == k {
			return fmt.Sprintf(" (the check's rule %s)", r.Prefix)
		}
	}
	for _, r := range f.rules {
		if r.Index == k {
			return fmt.Sprintf(" (your rule %s)", r.Prefix)
		}
	}
	return ""
}

// elsewhere names counters that moved although no packet of their rule
// was sent.
func (f facts) elsewhere(other grade.Counters[uint32]) string {
	if other.Total() == 0 {
		return ""
	}
	es := other.Entries(nil)
	if f.ruleName(es[0].Key) == "" {
		return fmt.Sprintf("%s counted although no rule has index %d: count at the index the lookup returned (*rule), not at a fixed or computed one%s",
			matchesKey(es[0].Key), es[0].Key, f.ex.index)
	}
	return ""
}

// foreignDropped is how many of the frames that are not (what they claim
// to be) IP were dropped.
func (f facts) foreignDropped() int {
	n := 0
	for _, w := range []grade.Written{f.drop.local, f.drop.ipv4Swapped, f.drop.ipv6Swapped} {
		if w.Failure == nil && w.Arrived < w.Count {
			n += w.Count - w.Arrived
		}
	}
	return n
}

// foreignResults: frames that are not IPv4 (nor IPv6 in the ipv6 step)
// pass, though where a mistaken program reads an address they carry one
// of the check's sources.
func (f facts) foreignResults() []labs.Result {
	d := f.drop
	notIP := "frames that are not IP must pass: read the IPv4 header only after checking eth->h_proto == bpf_htons(ETH_P_IP), and return XDP_PASS for every other EtherType"
	ipv6Swapped := notIP
	if f.ex.ipv6 {
		notIP = "frames that are neither IPv4 nor IPv6 must pass: read each header only after its EtherType check (bpf_htons(ETH_P_IP), bpf_htons(ETH_P_IPV6)), and return XDP_PASS for any other" + f.ex.header6
		ipv6Swapped = "the frame of EtherType 0xdd86 (IPv6's 0x86dd byte-swapped) was dropped as if it were IPv6: compare h_proto with bpf_htons(ETH_P_IPV6), " +
			"the EtherType in network byte order" + f.ex.header6
	}
	where := fmt.Sprintf("arrives at %s/%s", f.drop.local.To.Node, f.drop.local.To.Iface)
	return []labs.Result{
		grade.FramesArrived(fmt.Sprintf("%s, carrying %s where an IPv4 header has its source, %s", d.local.What, f.s(), where), d.local, notIP),
		grade.FramesArrived(fmt.Sprintf("%s, an IPv4 packet from %s, %s", d.ipv4Swapped.What, f.s(), where), d.ipv4Swapped, first(f.etherType(), notIP)),
		grade.FramesArrived(fmt.Sprintf("%s, an IPv6 packet carrying %s where an IPv4 header has its source, %s", d.ipv6Swapped.What, f.s(), where), d.ipv6Swapped, ipv6Swapped),
	}
}

// actionResult: nothing of the check's traffic went to XDP_ABORTED, to an
// action that is none, or back to the host.
func (f facts) actionResult() labs.Result {
	name := "the dropped packets end in XDP_DROP: none goes to XDP_ABORTED or back to the host"
	const expected = "no exception, no frame back at the host"
	exc := f.pass.exceptions.Add(f.drop.exceptions)
	back := f.drop.back
	if f.excErr != nil && len(back) == 0 {
		return labs.Skip(name, expected, fmt.Sprintf("the kernel's xdp:xdp_exception tracepoint could not be watched (%v); frames back at the host were looked for, none came", f.excErr))
	}
	var observed []string
	if exc.Total() > 0 {
		observed = append(observed, "exceptions: "+exc.String())
	}
	if len(back) > 0 {
		observed = append(observed, fmt.Sprintf("%s back at the host: %s", plural(len(back), "frame", "frames"), back[0]))
	}
	if len(observed) == 0 {
		observed = []string{expected}
	}
	all := phase{exceptions: exc, back: back}
	return labs.Assert(name, exc.Total() == 0 && len(back) == 0, expected, strings.Join(observed, "; "), f.actions(all, f.ex.drop))
}

// IPv6.

// destination6: the rule for the IPv6 frames' destination counted them,
// in the phase without the check's rules (as for destination).
func (f facts) destination6(phase) string {
	ph := f.pass
	r, ok := f.ch.rule(roleDst6)
	if !ok || ph.packets[r.Index] == 0 {
		return ""
	}
	return hintDestination(r.Prefix, r.Prefix.Addr(), f.s6(), "") + " (" + f.describe(roleDst6) + " counted them)" + f.ex.lookup6
}

// short6: the check's /32 around S6 counted: the lookup key's prefixlen
// is 32, as for IPv4.
func (f facts) short6() string {
	r, ok := f.ch.rule(roleShort6)
	if !ok || f.drop.packets[r.Index] == 0 {
		return ""
	}
	return fmt.Sprintf("%s, which longer rules of the check's shadow for every address it sends from, counted the IPv6 packets: the lookup matched on their first 32 bits only; "+
		"an IPv6 key's prefixlen is 128, and its addr the 16 bytes of ip6->saddr%s", f.describe(roleShort6), f.ex.lookup6)
}

// etherType6: the IPv6 frame whose EtherType field reads 0xdd86 was
// dropped while the frame that is not IP passed, as a program that
// compares with ETH_P_IPV6 unconverted does.
func (f facts) etherType6() string {
	d := f.drop
	if !f.ex.ipv6 || !d.ran || d.ipv6Swapped.Arrived > 0 || d.ipv6Swapped.Failure != nil || d.local.Arrived == 0 {
		return ""
	}
	return "the frame of EtherType 0xdd86 (IPv6's 0x86dd byte-swapped) was dropped as if it were IPv6: compare h_proto with bpf_htons(ETH_P_IPV6), " +
		"the EtherType in network byte order; ETH_P_IPV6 as it is reads 0xdd86 from a little-endian frame, so real IPv6 never matches" + f.ex.header6
}

// drop6Results: the IPv6 frames from S6 and S62 are dropped and counted
// at their rules' indices.
func (f facts) drop6Results() []labs.Result {
	d := f.drop
	own6, wide6 := f.ruleIndex(roleOwn6), f.ruleIndex(roleWide6)
	evidence := first(f.etherType6(), f.short6(), f.destination6(d), f.actions(d, f.ex.lookup6))
	nothing6 := d.packets[own6]+d.packets[wide6] == 0 && d.frames6.Arrived > 0 && d.frames62.Arrived > 0
	noMatch := ""
	if nothing6 {
		noMatch = "no IPv6 rule matched the check's IPv6 sources: recognise IPv6 frames (h_proto == bpf_htons(ETH_P_IPV6), a whole struct ipv6hdr)" +
			f.ex.header6 + " and look up {prefixlen = 128, the 16 bytes of ip6->saddr} in blacklist6" + f.ex.lookup6
	}
	hint := func(w grade.Written, index uint32) string {
		counted := ""
		if d.packets[index] >= uint64(w.Count) && w.Arrived > 0 {
			counted = fmt.Sprintf("they were counted at %s but not dropped: return XDP_DROP when the blacklist6 lookup found a rule%s", matchesKey(index), f.ex.lookup6)
		}
		return first(evidence, counted, noMatch,
			"IPv6 packets from a source in blacklist6 must be dropped: look up {128, ip6->saddr} and return XDP_DROP on a hit"+f.ex.lookup6)
	}
	count := func(index uint32, want uint64, w grade.Written) string {
		got := d.packets[index]
		switch {
		case evidence != "":
			return evidence
		case got > want && got%want == 0:
			return fmt.Sprintf("each IPv6 packet was counted %d times: count once per packet%s", got/want, f.ex.lookup6)
		case got == 0 && w.Arrived == 0 && w.Failure == nil:
			return "the IPv6 packets were dropped but not counted: count them at matches[*rule], as drop() does" + f.ex.lookup6
		case noMatch != "":
			return noMatch
		}
		if k, ok := d.packets.Except(f.ruleIndices(roleOwn, roleWide)...).Elsewhere(index, want); ok {
			return fmt.Sprintf("the %d IPv6 packets were counted under %s%s, not %s: count at the index the blacklist6 lookup returned%s",
				want, matchesKey(k), f.ruleName(k), matchesKey(index), f.ex.lookup6)
		}
		return "count each dropped IPv6 packet once, at the index the blacklist6 lookup returned" + f.ex.lookup6
	}
	notArrived := func(name string, w grade.Written, hint string) labs.Result {
		return labs.Assert(name, w.Arrived == 0 && w.Failure == nil, fmt.Sprintf("0 of %d frames arrived", w.Count), w.String(), hint)
	}
	r6, _ := f.ch.rule(roleOwn6)
	w6, _ := f.ch.rule(roleWide6)
	return []labs.Result{
		notArrived(fmt.Sprintf("%s do not arrive (%s)", d.frames6.What, f.describe(roleOwn6)), d.frames6, hint(d.frames6, own6)),
		notArrived(fmt.Sprintf("%s do not arrive (%s; %s does not contain them)", d.frames62.What, f.describe(roleWide6), r6.Prefix), d.frames62, hint(d.frames62, wide6)),
		grade.ExactCount(fmt.Sprintf("%s (the check's rule %s) counts the %d IPv6 packets from %s", matchesKey(own6), r6.Prefix, echoes6+datagrams6, f.s6()),
			uint64(echoes6+datagrams6), d.packets[own6], count(own6, echoes6+datagrams6, d.frames6)),
		grade.ExactCount(fmt.Sprintf("%s (the check's rule %s) counts the %d echo requests of the second IPv6 source", matchesKey(wide6), w6.Prefix, echoes6),
			uint64(echoes6), d.packets[wide6], count(wide6, echoes6, d.frames62)),
	}
}

// bytes step.

// sent is one packet the check sent: its frame's length, and its IPv4
// total length.
type sent struct{ frame, ip int }

func repeat(s sent, n int) []sent {
	out := make([]sent, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func frameBytes(ss []sent) uint64 {
	var n uint64
	for _, s := range ss {
		n += uint64(s.frame)
	}
	return n
}

// bytesHint explains a bytes counter from what it would hold under the
// mistakes a learner makes: the IP length instead of the frame's, that
// length byte-swapped, one per packet, each packet twice.
func (f facts) bytesHint(got, packets uint64, ss []sent) string {
	var ip, swapped, payload uint64
	for _, s := range ss {
		ip += uint64(s.ip)
		swapped += uint64(s.ip>>8 | (s.ip&0xff)<<8)
		payload += uint64(s.ip - 20)
	}
	want := frameBytes(ss)
	where := f.ex.stats
	switch {
	case got == want:
		return ""
	case packets == want && got == uint64(len(ss)):
		return "packets and bytes are swapped: add 1 to stats->packets and the frame's length to stats->bytes" + where
	case got == 0 && packets == 0:
		return "" // the packet counts say why
	case got == 0:
		return "bytes stayed 0: add the frame's length, data_end - data, to stats->bytes for every dropped packet" + where
	case got == ip:
		return fmt.Sprintf("%d bytes is what the IPv4 total lengths (ip->tot_len) add up to: count the whole frame, data_end - data, which includes the 14 bytes of the Ethernet header%s", got, where)
	case got == swapped:
		return fmt.Sprintf("%d bytes is what ip->tot_len adds up to read in host byte order: the frame's length is data_end - data, no header field needed%s", got, where)
	case got == payload:
		return fmt.Sprintf("%d bytes is what comes after the IPv4 header: count the whole frame, from data (the Ethernet header) to data_end%s", got, where)
	case got == uint64(len(ss)):
		return "bytes counts 1 per packet: add the frame's length, data_end - data, not 1" + where
	case got == 2*want:
		return "each packet's bytes were counted 2 times: add its length once" + where
	}
	return fmt.Sprintf("bytes must add up the frames' lengths, data_end - data of each dropped packet (%d here)%s", want, where)
}
