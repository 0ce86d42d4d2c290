// Package basicfirewall is the third lab: an XDP program on node1's veth1 that
// drops IPv4 packets from blacklisted source prefixes and counts drops per rule.
package basicfirewall

import (
	"context"
	"embed"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
)

// Names the tutorial uses; an --obj must provide them.
const (
	labName      = "basic_firewall"
	progName     = "firewall"
	blacklistMap = "blacklist"
	matchesMap   = "matches"
	linkPin      = "link_node1_veth1"
	dropFlag     = "drop"
)

// want is the tutorial's layout: an LPM_TRIE keyed by {u32 prefixlen; u32
// addr} holding a u32 rule index, and a u64 counter per rule index.
var want = loader.Want{
	Programs: map[string]ebpf.ProgramType{progName: ebpf.XDP},
	Maps: map[string]loader.MapShape{
		blacklistMap: {Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 4},
		matchesMap:   {Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8},
	},
}

// Lab is the basic_firewall lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

// guides are the guide's translations, guide.<lang>.md.
//
//go:embed guide.*.md
var guides embed.FS

//go:embed guide.md
var guide string

// Info describes the lab.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     labName,
		Summary:  "drop IPv4 packets by source prefix with an LPM trie, count drops per rule",
		Source:   "go-xdp-examples",
		Topology: "pair",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Flags: []labs.Flag{{
			Name:       dropFlag,
			Usage:      "drop IPv4 packets whose source is in `CIDR` (or is an address)",
			Repeatable: true,
		}},
		Attach: []labs.Attach{{Node: "node1", Iface: "veth1", Hook: labs.HookXDP, Program: progName, Maps: []string{blacklistMap, matchesMap}}},
		Next: []string{
			"sudo xdplab traffic ping --from host --to {addr:dut}{instance}   # dropped if a rule matches {addr:sender}",
			"sudo xdplab fw list{instance}   # rules by index, with their drop counts",
			"sudo xdplab fw add {addr:sender}{instance}   # block the host; fw del {addr:sender} lets it through again",
		},
		Keys:   map[string]labs.KeyFormat{blacklistMap: labs.KeyIPv4Prefix},
		Guide:  guide,
		Object: _BasicFirewallBytes,
		Guides: guides,
	}
}

// Validate checks the object and the --drop rules before anything is created:
// every rule must be IPv4, given once, and fit into the object's maps.
func (*Lab) Validate(opts labs.Options) error {
	spec, err := loader.Spec(loadBasicFirewall, opts.Obj, want)
	if err != nil {
		return err
	}
	_, err = dropRules(opts, specCapacity(spec))
	return err
}

// specCapacity is how many rules an object's maps hold: a rule needs a
// blacklist entry and a counter in matches.
func specCapacity(spec *ebpf.CollectionSpec) int {
	return int(min(spec.Maps[blacklistMap].MaxEntries, spec.Maps[matchesMap].MaxEntries))
}

// dropRules parses the --drop values in order; a rule's index is its position,
// as in the tutorial.
func dropRules(opts labs.Options, capacity int) ([]netip.Prefix, error) {
	values := opts.Values[dropFlag]
	var rules []netip.Prefix
	seen := map[netip.Prefix]string{}
	for _, v := range values {
		p, err := ParseRule(v)
		if err != nil {
			return nil, labs.Errorf(labs.ErrUsage, "--drop: %w", err)
		}
		if prev, dup := seen[p]; dup {
			return nil, labs.Errorf(labs.ErrUsage, "--drop %s and --drop %s are the same rule %s: give it once", prev, v, p)
		}
		seen[p] = v
		rules = append(rules, p)
	}
	if len(rules) > capacity {
		return nil, labs.Errorf(labs.ErrUsage, "%d --drop rules, but the blacklist map holds at most %d", len(rules), capacity)
	}
	return rules, nil
}

// Up loads the program, pins both maps, installs the --drop rules (rule i gets
// index i) and attaches to node1/veth1.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	spec, err := loader.Spec(loadBasicFirewall, env.Options.Obj, want)
	if err != nil {
		return err
	}
	rules, err := dropRules(env.Options, specCapacity(spec))
	if err != nil {
		return err
	}
	coll, err := loader.Load(spec)
	if err != nil {
		return err
	}
	defer coll.Close()
	if err := loader.PinMaps(coll, env.PinDir, blacklistMap, matchesMap); err != nil {
		return err
	}
	m := &fwMaps{blacklist: coll.Maps[blacklistMap], matches: coll.Maps[matchesMap]}
	for i, p := range rules {
		if err := m.insert(p, uint32(i)); err != nil {
			return err
		}
		fmt.Fprintf(env.Log, "rule %d: drop %s\n", i, p)
	}
	native := env.Options.Mode == labs.ModeNative
	return loader.AttachXDP(env.Topo.MustNS("node1"), "veth1", coll.Programs[progName], native, env.Pin(linkPin))
}

// Watch prints every rule and its drop count once a second, in the
// tutorial's format.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	return labs.Every(ctx, time.Second, func() error {
		// Reopen each time: after `down` the pins are gone and watch should
		// say so instead of showing a detached map forever.
		m, err := openMaps(env, true)
		if err != nil {
			return err
		}
		defer m.Close()
		rules, err := m.rules()
		if err != nil {
			return err
		}
		fmt.Fprint(w, Format(rules, env.Instance))
		return nil
	})
}

// Format renders rules as the tutorial's watch loop does, "%18s\t%d" per rule
// followed by a blank line; unlike the tutorial it sums every CPU's counter
// and also shows rules that matched nothing yet. With no rules it says how to
// add one to the instance's firewall.
func Format(rules []Rule, instance string) string {
	if len(rules) == 0 {
		return "(blacklist is empty: " + labs.Cmd(instance, "fw add CIDR") + " adds a rule)\n\n"
	}
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "%18s\t%d\n", r.Prefix, r.Matches)
	}
	b.WriteString("\n")
	return b.String()
}
