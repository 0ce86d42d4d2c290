// Package xdpcap is the capture lab: node1's XDP program exits through
// cloudflare/xdpcap's tail-call hook, so `xdplab capture` sees each packet
// together with the action the program chose.
package xdpcap

import (
	"context"
	"embed"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
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

var want = loader.Want{
	Maps: map[string]loader.MapShape{hookName: {Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4}},
}

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

// Validate checks a learner's object before anything is created.
func (*Lab) Validate(opts labs.Options) error {
	if opts.Obj == "" {
		return nil
	}
	spec, err := loader.SpecFromFile(opts.Obj, want)
	if err != nil {
		return err
	}
	if _, err := checkSpec(spec); err != nil {
		return fmt.Errorf("--obj %s: %w", opts.Obj, err)
	}
	return nil
}

// checkSpec finds the one XDP program and checks the hook has a slot per
// action; it returns the program's name.
func checkSpec(spec *ebpf.CollectionSpec) (string, error) {
	var xdp, all []string
	for name, p := range spec.Programs {
		all = append(all, name)
		if p.Type == ebpf.XDP {
			xdp = append(xdp, name)
		}
	}
	sort.Strings(xdp)
	sort.Strings(all)
	switch len(xdp) {
	case 0:
		have := "none"
		if len(all) > 0 {
			have = strings.Join(all, ", ")
		}
		return "", fmt.Errorf("%w: no XDP program (have: %s); the lab attaches one program in SEC(\"xdp\") that returns through xdpcap_exit", loader.ErrBadObject, have)
	case 1:
	default:
		return "", fmt.Errorf("%w: %d XDP programs (%s); the lab attaches exactly one, so keep one per object", loader.ErrBadObject, len(xdp), strings.Join(xdp, ", "))
	}
	if n := spec.Maps[hookName].MaxEntries; n < 4 || n > 5 {
		return "", fmt.Errorf("%w: map %q has %d entries; the hook needs one slot per XDP action, 5 (XDPCAP_ACTIONS in bpf/xdpcap.h)", loader.ErrBadObject, hookName, n)
	}
	return xdp[0], nil
}

// Up loads the program, pins the hook, the program and the link, and
// attaches to node1/veth1.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	spec, err := loader.Spec(loadXdpcap, env.Options.Obj, want)
	if err != nil {
		return err
	}
	name, err := checkSpec(spec)
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
	prog := coll.Programs[name]
	// Pinned too, so `capture --entry` can chain to it while its own front
	// program sits on the link.
	if err := prog.Pin(env.Pin(progPin)); err != nil {
		return fmt.Errorf("pin program %s: %w", name, err)
	}
	native := env.Options.Mode == labs.ModeNative
	return loader.AttachXDP(env.Topo.MustNS("node1"), "veth1", prog, native, env.Pin(linkPin))
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
