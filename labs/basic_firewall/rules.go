package basicfirewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
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
}

// ParseRule reads a rule as the tutorial's --drop does: an IPv4 CIDR
// (10.0.0.0/8) or a single address (10.1.2.3, meaning /32). Host bits are
// cleared, so 10.1.2.3/8 is the rule 10.0.0.0/8.
func ParseRule(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	var err error
	if strings.Contains(s, "/") {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad CIDR %q: want an IPv4 prefix such as 10.0.0.0/8 or an address such as 10.1.2.3", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("CIDR %q is not IPv4: the firewall looks up IPv4 source addresses only", s)
	}
	return p.Masked(), nil
}

// keyOf is the blacklist key of a prefix. The address goes in as the packet
// carries it (network byte order): reading its 4 bytes in native order and
// letting the map store them in native order again keeps them unchanged.
func keyOf(p netip.Prefix) basicFirewallLpmKey {
	a := p.Addr().As4()
	return basicFirewallLpmKey{Prefixlen: uint32(p.Bits()), Addr: binary.NativeEndian.Uint32(a[:])}
}

func prefixOf(k basicFirewallLpmKey) netip.Prefix {
	var a [4]byte
	binary.NativeEndian.PutUint32(a[:], k.Addr)
	return netip.PrefixFrom(netip.AddrFrom4(a), int(k.Prefixlen))
}

// fwMaps are the two maps of a running firewall.
type fwMaps struct {
	blacklist, matches *ebpf.Map
	instance           string // for commands in hints
}

// openMaps opens the pinned maps of the lab. A pin that is missing is an
// environment error that says how to rebuild the lab, and wraps
// os.ErrNotExist.
func openMaps(env *labs.Env, readOnly bool) (*fwMaps, error) {
	bl, err := grade.OpenMap(env, blacklistMap, readOnly)
	if err != nil {
		return nil, err
	}
	mt, err := grade.OpenMap(env, matchesMap, readOnly)
	if err != nil {
		bl.Close()
		return nil, err
	}
	return &fwMaps{blacklist: bl, matches: mt, instance: env.Instance}, nil
}

func (m *fwMaps) Close() {
	m.blacklist.Close()
	m.matches.Close()
}

// capacity is how many rules fit: each needs a trie entry and a counter.
func (m *fwMaps) capacity() int {
	return int(min(m.blacklist.MaxEntries(), m.matches.MaxEntries()))
}

// rules lists the blacklist by index, with the counters of each rule.
func (m *fwMaps) rules() ([]Rule, error) {
	var (
		key   basicFirewallLpmKey
		index uint32
		rules []Rule
	)
	it := m.blacklist.Iterate()
	for it.Next(&key, &index) {
		rules = append(rules, Rule{Index: index, Prefix: prefixOf(key)})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read map %s: %w", blacklistMap, err)
	}
	counts, err := m.counts()
	if err != nil {
		return nil, err
	}
	for i := range rules {
		rules[i].Matches = counts[rules[i].Index]
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Index < rules[j].Index })
	return rules, nil
}

// counts reads every counter of matches, summed over the CPUs, by index.
func (m *fwMaps) counts() (grade.Counters[uint32], error) {
	return grade.ReadCounters[uint32](m.matches)
}

// resetCount zeroes a rule's counter on every CPU, so an index that is
// handed out again starts from 0.
func (m *fwMaps) resetCount(index uint32) error {
	zeros := make([]uint64, ebpf.MustPossibleCPU())
	if err := m.matches.Update(index, zeros, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("reset %s[%d]: %w", matchesMap, index, err)
	}
	return nil
}

// insert puts a prefix into the blacklist with the given index; the counter
// is left as it is.
func (m *fwMaps) insert(p netip.Prefix, index uint32) error {
	if err := m.blacklist.Update(keyOf(p), index, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("add %s to %s: %w", p, blacklistMap, err)
	}
	return nil
}

// remove deletes a prefix from the blacklist; the counter is left as it is.
func (m *fwMaps) remove(p netip.Prefix) error {
	if err := m.blacklist.Delete(keyOf(p)); err != nil {
		return fmt.Errorf("remove %s from %s: %w", p, blacklistMap, err)
	}
	return nil
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
	rules, err := m.rules()
	if err != nil {
		return Rule{}, err
	}
	used := map[uint32]bool{}
	for _, r := range rules {
		if r.Prefix == p {
			return r, fmt.Errorf("%w as rule %d", ErrRuleExists, r.Index)
		}
		used[r.Index] = true
	}
	capacity := m.capacity()
	if len(rules) >= capacity {
		return Rule{}, fmt.Errorf("%w (%d rules): remove one with %s first", ErrFull, capacity, labs.Cmd(m.instance, "fw del CIDR"))
	}
	var index uint32
	for used[index] {
		index++
	}
	if int(index) >= capacity {
		return Rule{}, fmt.Errorf("%w: no free rule index below %d", ErrFull, capacity)
	}
	// Zero the counter before the rule can match, so it counts from 0.
	if err := m.resetCount(index); err != nil {
		return Rule{}, err
	}
	if err := m.insert(p, index); err != nil {
		return Rule{}, err
	}
	return Rule{Index: index, Prefix: p}, nil
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

// matching returns the rules whose prefix contains a, longest prefix first:
// the first is the one the trie picks.
func matching(rules []Rule, a netip.Addr) []Rule {
	var out []Rule
	for _, r := range rules {
		if r.Prefix.Contains(a) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix.Bits() > out[j].Prefix.Bits() })
	return out
}
