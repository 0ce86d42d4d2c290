// Package icmpdrop is the lab of the eBPF introduction's XDP program, which
// drops ICMP on lo (node1's here), then on node1's veth1.
package icmpdrop

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// The text's program name; an --obj must provide it. The lab has no maps.
const progName = "icmp_drop"

// progPin keeps the program loaded on its own, besides its link: the check
// swaps it out of the link for a while, and without the pin the kernel
// would free it, so that a check killed in that while could not put it
// back.
const progPin = "prog_" + progName

// linkPin is the pin of the program's link on node1's iface.
func linkPin(iface string) string { return "link_node1_" + iface }

var want = loader.Want{Programs: map[string]ebpf.ProgramType{progName: ebpf.XDP}}

// Lab is the icmp_drop lab.
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
	//go:embed icmp_drop.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

// Steps after the base exercise.
const (
	stepVeth1       = "veth1"
	stepEchoRequest = "echo_request"
)

// programs are the embedded objects, one per step, that up loads without
// --obj.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":              loadIcmpDrop,
	stepVeth1:       loadIcmpDropVeth1,
	stepEchoRequest: loadIcmpDropEchoRequest,
}

// onVeth1 is where the steps after the base exercise run the program: the
// interface the host's traffic arrives on.
var onVeth1 = []labs.Attach{{Node: "node1", Iface: "veth1", Hook: labs.HookXDP, Program: progName}}

// steps lists the exercises in the order a learner takes them. The base
// exercise runs on lo, which has no driver and so no native XDP.
func steps() []labs.Step {
	step := func(name string) fs.FS { return labs.StepDir(stepFiles, "steps/"+name) }
	return []labs.Step{
		{Summary: "drop ICMP on node1's lo, as the intro does on the host's: ping 127.0.0.1 goes unanswered", Files: baseFiles,
			Modes: []labs.Mode{labs.ModeGeneric}},
		{Name: stepVeth1, Summary: "the same program on node1's veth1, pinged from the host, in generic or native mode",
			Files: step(stepVeth1), Object: _IcmpDropVeth1Bytes, Attach: onVeth1},
		{Name: stepEchoRequest, Summary: "drop echo requests only: nobody pings node1, node1 still pings out",
			Files: step(stepEchoRequest), Object: _IcmpDropEchoRequestBytes, Attach: onVeth1},
	}
}

// Info describes the lab.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     "icmp_drop",
		Summary:  "drop ICMP with XDP: the eBPF introduction's program, on lo, then on a veth",
		Source:   "eBPF introduction (bcc)",
		Topology: "pair",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Attach:   []labs.Attach{{Node: "node1", Iface: "lo", Hook: labs.HookXDP, Program: progName}},
		Next: []string{
			// The intro's own test, inside node1.
			"sudo xdplab exec{instance} node1 -- ping -c 3 127.0.0.1   # no reply while icmp_drop runs on node1's lo",
			"sudo xdplab traffic ping --from host --to {addr:dut}{instance}   # steps veth1 and echo_request: the host's pings",
		},
		Guide:  guide,
		Steps:  steps(),
		Object: _IcmpDropBytes,
		Guides: guides,
	}
}

// Validate checks the step and a learner's object before anything is
// created. Every step has the text's program.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "icmp_drop has no step %q", opts.Step) // the runner lists the steps before this
	}
	return loader.CheckObj(opts.Obj, want)
}

// Up loads the step's program (or the learner's), pins it, and attaches it
// to node1's lo (base exercise) or veth1 (the steps).
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	spec, err := loader.Spec(programs[env.Options.Step], env.Options.Obj, want)
	if err != nil {
		return err
	}
	coll, err := loader.Load(spec)
	if err != nil {
		return err
	}
	defer coll.Close()
	prog := coll.Programs[progName]
	if err := prog.Pin(env.Pin(progPin)); err != nil {
		return fmt.Errorf("pin program %s: %w", progName, err)
	}
	iface := exercises[env.Options.Step].iface
	native := env.Options.Mode == labs.ModeNative
	return loader.AttachXDP(env.Topo.MustNS("node1"), iface, prog, native, env.Pin(linkPin(iface)))
}

// pingPath is where a step's pings go through the program: from node1 to
// 127.0.0.1 over lo, or from the host (the sender) to node1's veth1 (the
// dut).
func pingPath(topo *topology.Deployed, ex exercise) (from topology.Place, to netip.Addr) {
	dut := topo.MustRole("dut")
	if ex.iface == "lo" {
		lo := grade.Loopback(dut)
		return lo, lo.Addr.Addr()
	}
	return topo.MustRole("sender"), dut.Addr.Addr()
}
