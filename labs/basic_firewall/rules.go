package basicfirewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Rule is one blacklist entry: a source prefix, the index of its counter in
// matches, and how many packets it dropped (summed over CPUs).
type Rule struct {
	Index   uint32       `json:"index"`
	Prefix  netip.Prefix `json:"prefix"`
	Matches uint64       `json:"matches"`
	// Bytes is what the dropped packets weighed, where matches keeps
	// {packets, bytes} per rule (the bytes step); nil where it counts
	// packets only.
	Bytes *uint64 `json:"bytes,omitempty"`
}

// ParseRule reads a rule as the tutorial's --drop does: a CIDR (10.0.0.0/8)
// or a single address (10.1.2.3, meaning /32). Host bits are cleared, so
// 10.1.2.3/8 is the rule 10.0.0.0/8. IPv6 prefixes are rules only where the
// firewall has an IPv6 blacklist (ipv6, the ipv6 step).
func ParseRule(s string, ipv6 bool) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	var err error
	if strings.Contains(s, "/") {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil && a.Zone() == "" {
			p = netip.PrefixFrom(a, a.BitLen())
		} else if err == nil {
			err = errors.New("a zone is no part of a prefix")
		}
	}
	if err != nil {
		if ipv6 {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q: want a prefix such as 10.0.0.0/8 or 2001:db8::/32, or an address such as 10.1.2.3", s)
		}
		return netip.Prefix{}, fmt.Errorf("bad CIDR %q: want an IPv4 prefix such as 10.0.0.0/8 or an address such as 10.1.2.3", s)
	}
	switch {
	case p.Addr().Is4In6():
		return netip.Prefix{}, fmt.Errorf("CIDR %q is an IPv4-mapped IPv6 prefix: write the IPv4 prefix itself", s)
	case p.Addr().Is6() && !ipv6:
		return netip.Prefix{}, fmt.Errorf("CIDR %q is not IPv4: the firewall looks up IPv4 source addresses only (its ipv6 step has an IPv6 blacklist)", s)
	}
	return p.Masked(), nil
}

// keyOf is the blacklist key of an IPv4 prefix. The address goes in as the
// packet carries it (network byte order): reading its 4 bytes in native
// order and letting the map store them in native order again keeps them
// unchanged.
func keyOf(p netip.Prefix) basicFirewallLpmKey {
	a := p.Addr().As4()
	return basicFirewallLpmKey{Prefixlen: uint32(p.Bits()), Addr: binary.NativeEndian.Uint32(a[:])}
}

func prefixOf(k basicFirewallLpmKey) netip.Prefix {
	var a [4]byte
	binary.NativeEndian.PutUint32(a[:], k.Addr)
	return netip.PrefixFrom(netip.AddrFrom4(a), int(k.Prefixlen))
}

// key6Of is the blacklist6 key of an IPv6 prefix: its 16 bytes as the
// packet carries them.
func key6Of(p netip.Prefix) basicFirewallIPv6LpmKey6 {
	return basicFirewallIPv6LpmKey6{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As16()}
}

func prefix6Of(k basicFirewallIPv6LpmKey6) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16(k.Addr), int(k.Prefixlen))
}

// KeyIPv6Prefix writes a blacklist6 key {__u32 prefixlen; __u8 addr[16]} as
// the prefix people write: 2001:db8::/32.
func KeyIPv6Prefix(key []byte) string {
	if len(key) != 20 {
		return fmt.Sprintf("%x", key)
	}
	bits := binary.NativeEndian.Uint32(key)
	addr := netip.AddrFrom16([16]byte(key[4:20]))
	if bits > 128 {
		return fmt.Sprintf("%s/%d", addr, bits) // not a prefix the kernel would match, shown as it is
	}
	return netip.PrefixFrom(addr, int(bits)).String()
}

// fwMaps are the maps of a running firewall.
type fwMaps struct {
	blacklist, matches *ebpf.Map
	// blacklist6 is the IPv6 blacklist of the ipv6 step; nil elsewhere.
	blacklist6 *ebpf.Map
	instance   string // for commands in hints
}

// openMaps opens the pinned maps of the lab, blacklist6 too with ipv6. A
// pin that is missing is an environment error that says how to rebuild the
// lab, and wraps os.ErrNotExist.
func openMaps(env *labs.Env, readOnly, ipv6 bool) (*fwMaps, error) {
	m := &fwMaps{instance: env.Instance}
	var err error
	if m.blacklist, err = grade.OpenMap(env, blacklistMap, readOnly); err != nil {
		return nil, err
	}
	if m.matches, err = grade.OpenMap(env, matchesMap, readOnly); err != nil {
		m.Close()
		return nil, err
	}
	if ipv6 {
		if m.blacklist6, err = grade.OpenMap(env, blacklist6Map, readOnly); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// openLabMaps opens the maps of the running lab for fw and watch: with the
// IPv6 blacklist when the lab pinned one (the ipv6 step).
func openLabMaps(env *labs.Env, readOnly bool) (*fwMaps, error) {
	_, err := os.Stat(env.Pin(blacklist6Map))
	return openMaps(env, readOnly, err == nil && env.Attached == nil)
}

func (m *fwMaps) Close() {
	for _, mp := range []*ebpf.Map{m.blacklist, m.blacklist6, m.matches} {
		if mp != nil {
			mp.Close()
		}
	}
}

// trie is the blacklist that holds rules of p's family, nil when the
// firewall has none for it.
func (m *fwMaps) trie(p netip.Prefix) *ebpf.Map {
	if p.Addr().Is6() {
		return m.blacklist6
	}
	return m.blacklist
}

// capacity is how many rules fit: each needs a counter in matches, and an
// entry in its family's trie.
func (m *fwMaps) capacity() int {
	return int(min(m.blacklist.MaxEntries(), m.matches.MaxEntries()))
}

// withBytes reports whether matches keeps {packets, bytes} per rule.
func (m *fwMaps) withBytes() bool { return m.matches.ValueSize() == statsSize }

// statsSize is the size of a matches value that holds {__u64 packets; __u64
// bytes;}.
const statsSize = 16

// rules lists both blacklists by index, with the counters of each rule.
func (m *fwMaps) rules() ([]Rule, error) {
	var rules []Rule
	var (
		key   basicFirewallLpmKey
		key6  basicFirewallIPv6LpmKey6
		index uint32
	)
	it := m.blacklist.Iterate()
	for it.Next(&key, &index) {
		rules = append(rules, Rule{Index: index, Prefix: prefixOf(key)})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read map %s: %w", blacklistMap, err)
	}
	if m.blacklist6 != nil {
		it := m.blacklist6.Iterate()
		for it.Next(&key6, &index) {
			rules = append(rules, Rule{Index: index, Prefix: prefix6Of(key6)})
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("read map %s: %w", blacklist6Map, err)
		}
	}
	packets, bytes, err := m.counts()
	if err != nil {
		return nil, err
	}
	for i := range rules {
		rules[i].Matches = packets[rules[i].Index]
		if m.withBytes() {
			b := bytes[rules[i].Index]
			rules[i].Bytes = &b
		}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Index < rules[j].Index })
	return rules, nil
}

// counts reads every counter of matches, summed over the CPUs, by index:
// packets, and bytes where matches keeps them (nil otherwise).
func (m *fwMaps) counts() (packets, bytes grade.Counters[uint32], err error) {
	if !m.withBytes() {
		packets, err = grade.ReadCounters[uint32](m.matches)
		return packets, nil, err
	}
	packets, bytes = grade.Counters[uint32]{}, grade.Counters[uint32]{}
	var (
		index uint32
		vals  [][]byte
	)
	it := m.matches.Iterate()
	for it.Next(&index, &vals) {
		for _, v := range vals {
			if p := binary.NativeEndian.Uint64(v[0:8]); p != 0 {
				packets[index] += p
			}
			if b := binary.NativeEndian.Uint64(v[8:16]); b != 0 {
				bytes[index] += b
			}
		}
	}
	if err := it.Err(); err != nil {
		return nil, nil, fmt.Errorf("read map %s: %w", matchesMap, err)
	}
	return packets, bytes, nil
}

// slot reads the counter of one index on every CPU, as the map holds it.
func (m *fwMaps) slot(index uint32) ([][]byte, error) {
	var vals [][]byte
	if err := m.matches.Lookup(index, &vals); err != nil {
		return nil, fmt.Errorf("read %s[%d]: %w", matchesMap, index, err)
	}
	return vals, nil
}

// setSlot writes the counter of one index on every CPU.
func (m *fwMaps) setSlot(index uint32, vals [][]byte) error {
	if err := m.matches.Update(index, vals, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("restore %s[%d]: %w", matchesMap, index, err)
	}
	return nil
}

// resetCount zeroes a rule's counter on every CPU, so an index that is
// handed out again starts from 0.
func (m *fwMaps) resetCount(index uint32) error {
	zeros := make([][]byte, ebpf.MustPossibleCPU())
	for i := range zeros {
		zeros[i] = make([]byte, m.matches.ValueSize())
	}
	if err := m.matches.Update(index, zeros, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("reset %s[%d]: %w", matchesMap, index, err)
	}
	return nil
}

// put writes a prefix into its family's blacklist with the given index;
// the counter is left as it is.
func (m *fwMaps) put(p netip.Prefix, index uint32, flags ebpf.MapUpdateFlags) error {
	var err error
	switch t := m.trie(p); {
	case t == nil:
		return fmt.Errorf("add %s: this firewall has no IPv6 blacklist", p)
	case p.Addr().Is6():
		err = t.Update(key6Of(p), index, flags)
	default:
		err = t.Update(keyOf(p), index, flags)
	}
	if err != nil {
		return fmt.Errorf("add %s to %s: %w", p, mapOf(p), err)
	}
	return nil
}

// insert puts a prefix into the blacklist with the given index, replacing
// an entry of the same prefix.
func (m *fwMaps) insert(p netip.Prefix, index uint32) error { return m.put(p, index, ebpf.UpdateAny) }

// remove deletes a prefix from its blacklist; the counter is left as it is.
func (m *fwMaps) remove(p netip.Prefix) error {
	var err error
	switch t := m.trie(p); {
	case t == nil:
		return fmt.Errorf("remove %s: this firewall has no IPv6 blacklist: %w", p, ebpf.ErrKeyNotExist)
	case p.Addr().Is6():
		err = t.Delete(key6Of(p))
	default:
		err = t.Delete(keyOf(p))
	}
	if err != nil {
		return fmt.Errorf("remove %s from %s: %w", p, mapOf(p), err)
	}
	return nil
}

// mapOf names the blacklist of p's family.
func mapOf(p netip.Prefix) string {
	if p.Addr().Is6() {
		return blacklist6Map
	}
	return blacklistMap
}

// Errors of rule changes, for errors.Is.
var (
	ErrRuleExists = errors.New("already in the blacklist")
	ErrNoRule     = errors.New("not in the blacklist")
	ErrFull       = errors.New("blacklist is full")
)

// add installs a new rule at the lowest free index, with its counter at 0.
// Indices of other rules never move, so their counters stay theirs.
func (m *fwMaps) add(p netip.Prefix) (Rule, error) {
	if m.trie(p) == nil {
		return Rule{}, fmt.Errorf("%s is not IPv4: the firewall looks up IPv4 source addresses only (its ipv6 step has an IPv6 blacklist)", p)
	}
	rules, err := m.rules()
	if err != nil {
		return Rule{}, err
	}
	used := map[uint32]bool{}
	family := 0
	for _, r := range rules {
		if r.Prefix == p {
			return r, fmt.Errorf("%w as rule %d", ErrRuleExists, r.Index)
		}
		used[r.Index] = true
		if r.Prefix.Addr().Is6() == p.Addr().Is6() {
			family++
		}
	}
	capacity := int(m.matches.MaxEntries())
	if len(rules) >= capacity {
		return Rule{}, fmt.Errorf("%w (%d rules): remove one with %s first", ErrFull, capacity, labs.Cmd(m.instance, "fw del CIDR"))
	}
	if max := int(m.trie(p).MaxEntries()); family >= max {
		return Rule{}, fmt.Errorf("%w: %s holds at most %d rules: remove one with %s first", ErrFull, mapOf(p), max, labs.Cmd(m.instance, "fw del CIDR"))
	}
	var index uint32
	for used[index] {
		index++
	}
	// Zero the counter before the rule can match, so it counts from 0.
	if err := m.resetCount(index); err != nil {
		return Rule{}, err
	}
	if err := m.insert(p, index); err != nil {
		return Rule{}, err
	}
	r := Rule{Index: index, Prefix: p}
	if m.withBytes() {
		r.Bytes = new(uint64)
	}
	return r, nil
}

// del removes a rule and zeroes its counter, freeing its index. It returns
// the rule as it was, with the count it had.
func (m *fwMaps) del(p netip.Prefix) (Rule, error) {
	rules, err := m.rules()
	if err != nil {
		return Rule{}, err
	}
	for _, r := range rules {
		if r.Prefix != p {
			continue
		}
		// Remove the rule before zeroing, so no packet counts in between.
		if err := m.remove(p); err != nil {
			return r, err
		}
		return r, m.resetCount(r.Index)
	}
	if len(rules) == 0 {
		return Rule{}, fmt.Errorf("%w: the blacklist is empty", ErrNoRule)
	}
	var have []string
	for _, r := range rules {
		have = append(have, r.Prefix.String())
	}
	return Rule{}, fmt.Errorf("%w (rules: %s)", ErrNoRule, strings.Join(have, ", "))
}

// indices lists the indices of rules.
func indices(rules []Rule) []uint32 {
	out := make([]uint32, len(rules))
	for i, r := range rules {
		out[i] = r.Index
	}
	slices.Sort(out)
	return out
}
