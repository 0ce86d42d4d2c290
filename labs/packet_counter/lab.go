// Package packetcounter is the first lab: an XDP program that counts packets
// per IP protocol on node1's veth1 and passes them on.
package packetcounter

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Names the tutorial uses; an --obj must provide them.
const (
	progName = "packet_count"
	mapName  = "protocols"
	linkPin  = "link_node1_veth1"
)

var want = loader.Want{
	Programs: map[string]ebpf.ProgramType{progName: ebpf.XDP},
	Maps:     map[string]loader.MapShape{mapName: {Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8}},
}

// Lab is the packet_counter lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

// guides are the guide's translations, guide.<lang>.md.
//
//go:embed guide.*.md
var guides embed.FS

//go:embed guide.md
var guide string

// The exercises: the base exercise's files beside the lab's program, each
// step's in steps/<name>/.
var (
	//go:embed packet_counter.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

// Steps after the base exercise.
const (
	stepDropICMP = "drop_icmp"
	stepIPv6     = "ipv6"
)

// programs are the embedded objects, one per step, that up loads without
// --obj. Every step keeps the tutorial's names and map shape.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":           loadPacketCounter,
	stepDropICMP: loadPacketCounterDropICMP,
	stepIPv6:     loadPacketCounterIPv6,
}

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
		{Summary: "count packets per IPv4 protocol and pass them all", Files: baseFiles},
		{Name: stepDropICMP, Summary: "drop ICMP, still counting every protocol", Files: step(stepDropICMP), Object: _PacketCounterDropICMPBytes},
		{Name: stepIPv6, Summary: "count IPv6 packets too, by their next header (ICMPv6 = 58)", Files: step(stepIPv6), Object: _PacketCounterIPv6Bytes},
	}
}

// Info describes the lab.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     "packet_counter",
		Summary:  "count packets per IP protocol with XDP and a per-CPU array",
		Source:   "go-xdp-examples",
		Topology: "pair",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Attach:   []labs.Attach{{Node: "node1", Iface: "veth1", Hook: labs.HookXDP, Program: progName, Maps: []string{mapName}}},
		Next: []string{
			// Traffic to watch the counters move.
			"sudo xdplab traffic ping --from host --to {addr:dut}{instance}   # or: sudo ip netns exec {ns:host} ping {addr:dut}",
		},
		Keys:   mapKeys,
		Guide:  guide,
		Steps:  steps(),
		Object: _PacketCounterBytes,
		Guides: guides,
	}
}

// Validate checks the step and a learner's object before anything is
// created. Every step has the tutorial's program and map.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "packet_counter has no step %q", opts.Step) // the runner lists the steps before this
	}
	return loader.CheckObj(opts.Obj, want)
}

// Up loads the step's program (or the learner's), pins the counters and
// attaches to node1/veth1.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	coll, err := loader.LoadAndPin(programs[env.Options.Step], env.Options.Obj, want, env.PinDir, mapName)
	if err != nil {
		return err
	}
	defer coll.Close()
	native := env.Options.Mode == labs.ModeNative
	return loader.AttachXDP(env.Topo.MustNS("node1"), "veth1", coll.Programs[progName], native, env.Pin(linkPin))
}

// Watch prints the counters once a second in the tutorial's format.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	return labs.Every(ctx, time.Second, func() error {
		c, err := grade.ReadPinned[uint32](env, mapName)
		if err != nil {
			return err
		}
		fmt.Fprint(w, Format(c))
		return nil
	})
}

// Format renders counters as the tutorial does: "IPPROTO_ICMP : 3" lines in
// protocol order, followed by a blank line.
func Format(c grade.Counters[uint32]) string {
	var b strings.Builder
	for _, e := range c.Entries(labs.IPProtoName) {
		fmt.Fprintf(&b, "%s : %d\n", e.Name, e.Value)
	}
	return b.String() + "\n"
}

// mapKeys name the protocols map's keys in status.
var mapKeys = map[string]labs.KeyFormat{mapName: labs.KeyIPProto}
