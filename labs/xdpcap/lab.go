// Package xdpcap is the capture lab: node1's XDP program exits through
// cloudflare/xdpcap's tail-call hook, so `xdplab capture` sees each packet
// together with the action the program chose.
package xdpcap

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Names of what the lab pins. The program may have any name (xdpcap's users
// name theirs as they like); the hook must be called xdpcap_hook.
const (
	labName  = "xdpcap"
	hookName = "xdpcap_hook"
	progPin  = "prog_xdp"
	linkPin  = "link_node1_veth1"
	nextPin  = "next_prog"
	ownProg  = "xdp_discard"
)

// The steps after the base exercise, and what the chain step adds: a
// second program, xdp_udp, that the program on the interface tail-calls
// through slot 0 of jmp_table. Both are pinned: the array so that the
// kernel does not empty it when up exits, the program so that the check
// can put it back after emptying the slot.
const (
	stepChain    = "chain"
	stepTX       = "tx"
	chainMap     = "jmp_table"
	chainProg    = "xdp_udp"
	chainSlot    = 0
	chainProgPin = "prog_xdp_udp"
	// hostLinkPin attaches xdp_pass to the host's veth0 in the tx step's
	// native mode: a frame that XDP_TX sends into a veth is received by
	// the peer's XDP ring, which exists only while the peer runs an XDP
	// program.
	hostLinkPin = "link_host_veth0"
)

// Lab is the xdpcap lab.
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
	//go:embed xdpcap.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

// programs are the embedded objects, one per step, that up loads without
// --obj.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":        loadXdpcap,
	stepChain: loadXdpcapChain,
	stepTX:    loadXdpcapTX,
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
		{Summary: "drop UDP to port 9, pass the rest, and return every verdict through the xdpcap hook", Files: baseFiles},
		{Name: stepChain, Summary: "chain a second program behind the first with a tail call through jmp_table; a failed tail call is XDP_ABORTED", Files: step(stepChain), Object: _XdpcapChainBytes},
		{Name: stepTX, Summary: "answer pings from XDP: turn each echo request into its reply and send it back with XDP_TX", Files: step(stepTX), Object: _XdpcapTXBytes},
	}
}

// want is what a step needs from an object, by name.
func want(step string) loader.Want {
	w := loader.Want{Maps: map[string]loader.MapShape{hookName: {Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4}}}
	if step == stepChain {
		w.Programs = map[string]ebpf.ProgramType{chainProg: ebpf.XDP}
		w.Maps[chainMap] = loader.MapShape{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4}
	}
	return w
}

// Info describes the lab. Its program exits through the hook, which the
// pictures show; a learner's program may have any name.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     labName,
		Summary:  "capture packets with the action the program chose, through xdpcap's tail-call hook",
		Source:   `cloudflare/xdpcap, "write your own xdpdump"`,
		Topology: "pair",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Attach:   []labs.Attach{{Node: "node1", Iface: "veth1", Hook: labs.HookXDP, Program: ownProg, Note: "-> " + hookName, Maps: []string{hookName}}},
		Next: []string{
			// A capture, and traffic for it.
			"sudo xdplab capture xdpcap{instance} -w - | tcpdump -nr -      # in a second terminal; Ctrl-C ends it",
			"sudo xdplab traffic udp --from host --to {addr:dut}:9 -c 3{instance}   # dropped: shows under XDPdrop",
			"sudo xdplab capture xdpcap{instance} --entry icmp   # before the program ran",
		},
		Guide:  guide,
		Steps:  steps(),
		Object: _XdpcapBytes,
		Guides: guides,
	}
}

// CapturePoints says where `xdplab capture xdpcap` captures: the pinned hook,
// and, for --entry, the link, the program and where next_prog goes.
func (*Lab) CapturePoints(pinDir string) (string, capture.EntryPoint) {
	pin := func(name string) string { return pinDir + "/" + name }
	return pin(hookName), capture.EntryPoint{Link: pin(linkPin), Program: pin(progPin), NextProg: pin(nextPin)}
}

// Validate checks the step and a learner's object before anything is
// created.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "xdpcap has no step %q", opts.Step) // the runner lists the steps before this
	}
	if opts.Obj == "" {
		return nil
	}
	spec, err := loader.SpecFromFile(opts.Obj, want(opts.Step))
	if err != nil {
		return err
	}
	if _, err := checkSpec(spec, opts.Step); err != nil {
		return fmt.Errorf("--obj %s: %w", opts.Obj, err)
	}
	return nil
}

// checkSpec finds the XDP program that goes on the interface (the one
// XDP program, or in the chain step the one beside xdp_udp) and checks the
// hook has a slot per action; it returns the program's name.
func checkSpec(spec *ebpf.CollectionSpec, step string) (string, error) {
	var xdp, all []string
	for name, p := range spec.Programs {
		all = append(all, name)
		if p.Type == ebpf.XDP && !(step == stepChain && name == chainProg) {
			xdp = append(xdp, name)
		}
	}
	sort.Strings(xdp)
	sort.Strings(all)
	one := "the lab attaches one program in SEC(\"xdp\") that returns through xdpcap_exit"
	if step == stepChain {
		one = fmt.Sprintf("the chain step attaches one program in SEC(\"xdp\") besides %s, which it tail-calls through %s", chainProg, chainMap)
	}
	switch len(xdp) {
	case 0:
		have := "none"
		if len(all) > 0 {
			have = strings.Join(all, ", ")
		}
		return "", fmt.Errorf("%w: no XDP program (have: %s); %s", loader.ErrBadObject, have, one)
	case 1:
	default:
		return "", fmt.Errorf("%w: %d XDP programs (%s); %s, so keep one per object", loader.ErrBadObject, len(xdp), strings.Join(xdp, ", "), one)
	}
	if n := spec.Maps[hookName].MaxEntries; n < 4 || n > 5 {
		return "", fmt.Errorf("%w: map %q has %d entries; the hook needs one slot per XDP action, 5 (XDPCAP_ACTIONS in bpf/xdpcap.h)", loader.ErrBadObject, hookName, n)
	}
	return xdp[0], nil
}

// Up loads the step's program (or the learner's), pins the hook, the
// program and the link, and attaches to node1/veth1. In the chain step it
// first puts xdp_udp in jmp_table's slot 0 and pins both.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	step := env.Options.Step
	spec, err := loader.Spec(programs[step], env.Options.Obj, want(step))
	if err != nil {
		return err
	}
	name, err := checkSpec(spec, step)
	if err != nil {
		return err
	}
	coll, err := loader.Load(spec)
	if err != nil {
		return err
	}
	defer coll.Close()
	// The hook stays pinned while the lab is up: a PROG_ARRAY is emptied
	// when its last user reference goes, and a capture needs to find it.
	if err := loader.PinMaps(coll, env.PinDir, hookName); err != nil {
		return err
	}
	if step == stepChain {
		if err := chainUp(coll, env); err != nil {
			return err
		}
	}
	prog := coll.Programs[name]
	// Pinned too, so `capture --entry` can chain to it while its own front
	// program sits on the link.
	if err := prog.Pin(env.Pin(progPin)); err != nil {
		return fmt.Errorf("pin program %s: %w", name, err)
	}
	native := env.Options.Mode == labs.ModeNative
	if step == stepTX && native {
		if err := attachPeerPass(env); err != nil {
			return err
		}
	}
	return loader.AttachXDP(env.Topo.MustNS("node1"), "veth1", prog, native, env.Pin(linkPin))
}

// chainUp puts xdp_udp in its slot of jmp_table and pins both.
func chainUp(coll *ebpf.Collection, env *labs.Env) error {
	if err := loader.PinMaps(coll, env.PinDir, chainMap); err != nil {
		return err
	}
	udp := coll.Programs[chainProg]
	if err := coll.Maps[chainMap].Put(uint32(chainSlot), udp); err != nil {
		return fmt.Errorf("put %s in %s[%d]: %w", chainProg, chainMap, chainSlot, err)
	}
	if err := udp.Pin(env.Pin(chainProgPin)); err != nil {
		return fmt.Errorf("pin program %s: %w", chainProg, err)
	}
	return nil
}

// attachPeerPass attaches a program that passes everything to the host's
// veth0, natively, and pins its link.
func attachPeerPass(env *labs.Env) error {
	pass, err := grade.PassProgram(ebpf.AttachNone)
	if err != nil {
		return fmt.Errorf("load xdp_pass for host/veth0: %w", err)
	}
	defer pass.Close()
	return loader.AttachXDP(env.Topo.MustNS("host"), "veth0", pass, true, env.Pin(hostLinkPin))
}

// LoadProgram loads the lab's own program and a fresh hook, attached to
// nothing: for BPF_PROG_TEST_RUN in tests and benchmarks. The caller closes
// both.
func LoadProgram() (*ebpf.Program, *ebpf.Map, error) {
	var objs xdpcapObjects
	if err := loadXdpcapObjects(&objs, nil); err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", ownProg, err)
	}
	return objs.XdpDiscard, objs.XdpcapHook, nil
}

// Watch prints every packet with its action until ctx ends: a capture with
// no filter, shown as text.
func (l *Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	hook, _ := l.CapturePoints(env.PinDir)
	if env.Options.Bare {
		pin, release, err := pinLearnersHook(env)
		if err != nil {
			return err
		}
		defer release()
		hook = pin
	}
	return capture.Record(ctx, capture.Config{
		Options: capture.Options{Hook: hook},
		Out:     w,
		Status:  w,
	})
}
