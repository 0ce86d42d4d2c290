// Package basicfirewall is the third lab: an XDP program on node1's veth1 that
// drops IPv4 packets from blacklisted source prefixes and counts drops per rule.
package basicfirewall

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
)

// Names the tutorial uses; an --obj must provide them.
const (
	labName       = "basic_firewall"
	progName      = "firewall"
	blacklistMap  = "blacklist"
	blacklist6Map = "blacklist6"
	matchesMap    = "matches"
	linkPin       = "link_node1_veth1"
	dropFlag      = "drop"
)

// Steps after the base exercise.
const (
	stepBytes = "bytes"
	stepIPv6  = "ipv6"
)

// wants are the layouts each step's program must have. The base exercise
// has the tutorial's: an LPM_TRIE keyed by {u32 prefixlen; u32 addr}
// holding a u32 rule index, and a u64 counter per rule index. The bytes
// step keeps {u64 packets; u64 bytes} per rule; the ipv6 step adds an
// LPM_TRIE keyed by {u32 prefixlen; u8 addr[16]}.
var wants = map[string]loader.Want{
	"":        want(8, false),
	stepBytes: want(statsSize, false),
	stepIPv6:  want(8, true),
}

func want(counter uint32, ipv6 bool) loader.Want {
	w := loader.Want{
		Programs: map[string]ebpf.ProgramType{progName: ebpf.XDP},
		Maps: map[string]loader.MapShape{
			blacklistMap: {Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 4},
			matchesMap:   {Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: counter},
		},
	}
	if ipv6 {
		w.Maps[blacklist6Map] = loader.MapShape{Type: ebpf.LPMTrie, KeySize: 20, ValueSize: 4}
	}
	return w
}

// programs are the embedded objects, one per step, that up loads without
// --obj. Every step keeps the tutorial's names.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":        loadBasicFirewall,
	stepBytes: loadBasicFirewallBytes,
	stepIPv6:  loadBasicFirewallIPv6,
}

// The exercises: the base exercise's files beside the lab's program, each
// step's in steps/<name>/.
var (
	//go:embed basic_firewall.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

// steps lists the exercises in the order a learner takes them.
func steps() []labs.Step {
	step := func(name string) fs.FS {
		sub, err := fs.Sub(stepFiles, "steps/"+name)
		if err != nil {
			panic(err) // a constant path the embed directive holds
		}
		return sub
	}
	return []labs.Step{
		{Summary: "drop IPv4 packets by source prefix, count the drops per rule", Files: baseFiles},
		{Name: stepBytes, Summary: "keep {packets, bytes} per rule: what each rule dropped, and how much it weighed", Files: step(stepBytes), Object: _BasicFirewallBytesBytes},
		{Name: stepIPv6, Summary: "an IPv6 blacklist beside the IPv4 one, the two sharing the rule indices", Files: step(stepIPv6), Object: _BasicFirewallIPv6Bytes},
	}
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
		Keys:   map[string]labs.KeyFormat{blacklistMap: labs.KeyIPv4Prefix, blacklist6Map: KeyIPv6Prefix},
		Guide:  guide,
		Steps:  steps(),
		Object: _BasicFirewallBytes,
		Guides: guides,
	}
}

// Validate checks the step, the object and the --drop rules before
// anything is created: every rule must be of a family the step's firewall
// has a blacklist for, given once, and fit into the object's maps.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "basic_firewall has no step %q", opts.Step) // the runner lists the steps before this
	}
	spec, err := loader.Spec(programs[opts.Step], opts.Obj, wants[opts.Step])
	if err != nil {
		return err
	}
	_, err = dropRules(opts, spec)
	return err
}

// dropRules parses the --drop values in order; a rule's index is its
// position, as in the tutorial. Rules of both families share the indices
// (the counters of matches), and each family's rules fit in its blacklist.
func dropRules(opts labs.Options, spec *ebpf.CollectionSpec) ([]netip.Prefix, error) {
	values := opts.Values[dropFlag]
	ipv6 := opts.Step == stepIPv6
	var rules []netip.Prefix
	seen := map[netip.Prefix]string{}
	perMap := map[string]int{}
	for _, v := range values {
		p, err := ParseRule(v, ipv6)
		if err != nil {
			return nil, labs.Errorf(labs.ErrUsage, "--drop: %w", err)
		}
		if prev, dup := seen[p]; dup {
			return nil, labs.Errorf(labs.ErrUsage, "--drop %s and --drop %s are the same rule %s: give it once", prev, v, p)
		}
		seen[p] = v
		perMap[mapOf(p)]++
		rules = append(rules, p)
	}
	if n := int(spec.Maps[matchesMap].MaxEntries); len(rules) > n {
		return nil, labs.Errorf(labs.ErrUsage, "%d --drop rules, but the matches map holds counters for at most %d", len(rules), n)
	}
	for _, name := range []string{blacklistMap, blacklist6Map} {
		if n := perMap[name]; n > 0 && n > int(spec.Maps[name].MaxEntries) {
			return nil, labs.Errorf(labs.ErrUsage, "%d --drop rules for the %s map, but it holds at most %d", n, name, spec.Maps[name].MaxEntries)
		}
	}
	return rules, nil
}

// Up loads the step's program (or the learner's), pins its maps, installs
// the --drop rules (rule i gets index i) and attaches to node1/veth1.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	step := env.Options.Step
	spec, err := loader.Spec(programs[step], env.Options.Obj, wants[step])
	if err != nil {
		return err
	}
	rules, err := dropRules(env.Options, spec)
	if err != nil {
		return err
	}
	coll, err := loader.Load(spec)
	if err != nil {
		return err
	}
	defer coll.Close()
	pins := []string{blacklistMap, matchesMap}
	if step == stepIPv6 {
		pins = append(pins, blacklist6Map)
	}
	if err := loader.PinMaps(coll, env.PinDir, pins...); err != nil {
		return err
	}
	m := &fwMaps{blacklist: coll.Maps[blacklistMap], blacklist6: coll.Maps[blacklist6Map], matches: coll.Maps[matchesMap]}
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
		m, err := openLabMaps(env, true)
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
// followed by a blank line (with "\t%d bytes" after the count where matches
// keeps bytes); unlike the tutorial it sums every CPU's counter and also
// shows rules that matched nothing yet. With no rules it says how to add one
// to the instance's firewall.
func Format(rules []Rule, instance string) string {
	if len(rules) == 0 {
		return "(blacklist is empty: " + labs.Cmd(instance, "fw add CIDR") + " adds a rule)\n\n"
	}
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "%18s\t%d", r.Prefix, r.Matches)
		if r.Bytes != nil {
			fmt.Fprintf(&b, "\t%d bytes", *r.Bytes)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}
