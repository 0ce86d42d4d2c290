// Package redirect is the lab where node1 reflects ICMP back to its sender
// with bpf_fib_lookup and bpf_redirect_map, on both of its interfaces.
package redirect

import (
	"context"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Names the tutorial uses; an --obj must provide the program and if_redirect.
// fib_results is ours: an object without it still runs, with vaguer hints.
const (
	progName    = "xdp_test"
	passName    = "xdp_pass"
	mapRedirect = "if_redirect"
	mapResults  = "fib_results"
	mapARP      = "arp_table" // the arp step's: node1's addresses and their MACs
	// progPin keeps xdp_test loaded on its own, so the check can swap it out
	// of the links and back, and restore it after an interrupted check.
	progPin = "prog_xdp_test"
)

// Where the program goes, and the veth peers that need xdp_pass in native mode.
var (
	reflectors = []string{"veth1", "veth2"} // on node1
	peers      = []endpoint{{"host", "veth0"}, {"node2", "veth3"}}
)

type endpoint struct{ node, iface string }

func (e endpoint) String() string  { return e.node + "/" + e.iface }
func (e endpoint) linkPin() string { return "link_" + e.node + "_" + e.iface }

func reflectorPin(iface string) string { return endpoint{"node1", iface}.linkPin() }

// Steps after the base exercise.
const (
	stepUDP = "udp"
	stepARP = "arp"
)

// The exercises: the base exercise's files beside the lab's program, each
// step's in steps/<name>/.
var (
	//go:embed redirect.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

// programs are the embedded objects, one per step, that up loads without
// --obj.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":      loadRedirect,
	stepUDP: loadRedirectUDP,
	stepARP: loadRedirectARP,
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
		{Summary: "reflect ICMP to its sender: bpf_fib_lookup the way back, rewrite, bpf_redirect_map through if_redirect", Files: baseFiles},
		{Name: stepUDP, Summary: "reflect UDP datagrams too, ports swapped, so they come back to the socket that sent them", Files: step(stepUDP), Object: _RedirectUDPBytes},
		{Name: stepARP, Summary: "answer ARP requests for node1's addresses from XDP, with the MACs in arp_table", Files: step(stepARP), Object: _RedirectARPBytes},
	}
}

// want is what a step's program must provide: the tutorial's program and
// DEVMAP, and in the arp step the table of node1's addresses.
func want(step string) loader.Want {
	w := loader.Want{
		Programs: map[string]ebpf.ProgramType{progName: ebpf.XDP},
		Maps: map[string]loader.MapShape{
			mapRedirect: {Type: ebpf.DevMapHash, Also: []ebpf.MapType{ebpf.DevMap}, KeySize: 4},
		},
	}
	if step == stepARP {
		w.Maps[mapARP] = loader.MapShape{Type: ebpf.Hash, KeySize: 4}
	}
	return w
}

// Lab is the redirect lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

// guides are the guide's translations, guide.<lang>.md.
//
//go:embed guide.*.md
var guides embed.FS

//go:embed guide.md
var guide string

// Info describes the lab. In native mode the veth peers that send into
// node1 run xdp_pass: native XDP on a veth needs a program on the peer.
func (*Lab) Info() labs.Info {
	attach := []labs.Attach{}
	for _, iface := range reflectors {
		attach = append(attach, labs.Attach{Node: "node1", Iface: iface, Hook: labs.HookXDP, Program: progName, Maps: []string{mapRedirect}})
	}
	for _, p := range peers {
		attach = append(attach, labs.Attach{Node: p.node, Iface: p.iface, Hook: labs.HookXDP, Program: passName, Mode: labs.ModeNative})
	}
	return labs.Info{
		Name:     "redirect",
		Summary:  "reflect ICMP to its sender with bpf_fib_lookup and bpf_redirect_map through a DEVMAP",
		Source:   "go-xdp-examples",
		Topology: "redirect",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Attach:   attach,
		Next: []string{
			// Watching the reflection with the system's own tools.
			"sudo ip netns exec {ns:host} tcpdump -ni veth0 -c 4 icmp   # in a second terminal",
			"sudo xdplab exec{instance} host -- ping -c 3 {addr:receiver}   # replies come from node1's program, not node2",
		},
		Keys:   mapKeys,
		Guide:  guide,
		Steps:  steps(),
		Object: _RedirectBytes,
		Guides: guides,
	}
}

// mapKeys name the keys of the lab's counters and of arp_table in status.
var mapKeys = map[string]labs.KeyFormat{
	mapResults: func(key []byte) string { return ResultName(binary.NativeEndian.Uint32(key)) },
	mapARP: func(key []byte) string {
		a, _ := netip.AddrFromSlice(key)
		return a.String()
	},
}

// Validate checks the step and a learner's object before anything is
// created.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "redirect has no step %q", opts.Step) // the runner lists the steps before this
	}
	if opts.Obj == "" {
		return nil
	}
	spec, err := loader.SpecFromFile(opts.Obj, want(opts.Step))
	if err != nil {
		return err
	}
	if err := checkValueSizes(spec); err != nil {
		return fmt.Errorf("--obj %s: %w", opts.Obj, err)
	}
	return nil
}

// checkValueSizes accepts the two DEVMAP value layouts, a bare ifindex or
// struct bpf_devmap_val (ifindex and a program fd), and an arp_table value
// that starts with a MAC (6 bytes, or 8 when padded).
func checkValueSizes(spec *ebpf.CollectionSpec) error {
	if m := spec.Maps[mapRedirect]; m.ValueSize != 4 && m.ValueSize != 8 {
		return fmt.Errorf("%w: map %q has %d-byte values, the lab expects 4 (the egress ifindex, __u32) or 8 (struct bpf_devmap_val)",
			loader.ErrBadObject, mapRedirect, m.ValueSize)
	}
	if m, ok := spec.Maps[mapARP]; ok && m.ValueSize != 6 && m.ValueSize != 8 {
		return fmt.Errorf("%w: map %q has %d-byte values, the lab expects 6 (a MAC address, __u8[ETH_ALEN]) or 8 (a MAC and 2 bytes of padding)",
			loader.ErrBadObject, mapARP, m.ValueSize)
	}
	return nil
}

// Up loads the step's program (or the learner's), fills if_redirect (and
// in the arp step arp_table) from inside node1, pins the maps and attaches
// xdp_test to node1's veth1 and veth2. In native mode the veth peers get
// xdp_pass and software checksums first, so the first redirected frame
// already has somewhere to go.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	spec, err := loader.Spec(programs[env.Options.Step], env.Options.Obj, want(env.Options.Step))
	if err != nil {
		return err
	}
	if err := checkValueSizes(spec); err != nil {
		return err
	}
	// Only the program the lab attaches: a learner's object may hold others
	// that need things we do not provide.
	coll, err := loader.Load(onlyProgram(spec, progName))
	if err != nil {
		return err
	}
	defer coll.Close()

	node1 := env.Topo.MustNS("node1")
	if err := fillDevmap(node1, coll.Maps[mapRedirect], reflectors); err != nil {
		return err
	}
	pins := []string{mapRedirect}
	if env.Options.Step == stepARP {
		if err := fillARPTable(node1, coll.Maps[mapARP], reflectors); err != nil {
			return err
		}
		pins = append(pins, mapARP)
	}
	if _, ok := coll.Maps[mapResults]; ok {
		pins = append(pins, mapResults)
	}
	if err := loader.PinMaps(coll, env.PinDir, pins...); err != nil {
		return err
	}
	prog := coll.Programs[progName]
	if err := prog.Pin(env.Pin(progPin)); err != nil {
		return fmt.Errorf("pin program %s: %w", progName, err)
	}

	native := env.Options.Mode == labs.ModeNative
	if native {
		if err := preparePeers(env); err != nil {
			return err
		}
	}
	for _, iface := range reflectors {
		if err := loader.AttachXDP(node1, iface, prog, native, env.Pin(reflectorPin(iface))); err != nil {
			return err
		}
	}
	return nil
}

// onlyProgram keeps one program of a collection spec, and every map.
func onlyProgram(spec *ebpf.CollectionSpec, prog string) *ebpf.CollectionSpec {
	s := spec.Copy()
	for name := range s.Programs {
		if name != prog {
			delete(s.Programs, name)
		}
	}
	return s
}

// preparePeers readies host/veth0 and node2/veth3 to receive XDP-redirected
// frames natively: software tx checksums, and xdp_pass attached and pinned.
func preparePeers(env *labs.Env) error {
	pass, err := grade.PassProgram(ebpf.AttachXDP)
	if err != nil {
		return err
	}
	defer pass.Close()
	for _, p := range peers {
		ns := env.Topo.MustNS(p.node)
		if err := setTxChecksum(ns, p.iface, false); err != nil {
			return fmt.Errorf("turn off tx checksum offload on %s: %w", p, err)
		}
		if err := loader.AttachXDP(ns, p.iface, pass, true, env.Pin(p.linkPin())); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// ErrIfindexTooLarge is returned when a DEVMAP cannot hold an interface.
var ErrIfindexTooLarge = errors.New("ifindex does not fit in the DEVMAP")

// devmapFits says whether ifindex can be a key of a map of this type and size.
// A DEVMAP is an array indexed by ifindex; a DEVMAP_HASH takes any key.
func devmapFits(typ ebpf.MapType, maxEntries uint32, ifindex int) error {
	if typ == ebpf.DevMap && (ifindex < 0 || uint32(ifindex) >= maxEntries) {
		return fmt.Errorf("%w: a DEVMAP is an array indexed by ifindex and if_redirect has max_entries %d; size it above the largest ifindex (the tutorial uses 1024) or use BPF_MAP_TYPE_DEVMAP_HASH",
			ErrIfindexTooLarge, maxEntries)
	}
	return nil
}

// fillDevmap maps each interface's ifindex to itself. The update runs inside
// ns: the kernel looks the ifindex value up in the updating thread's
// namespace, and from anywhere else it would name another interface or none.
func fillDevmap(ns *namespace.NS, m *ebpf.Map, ifaces []string) error {
	info, err := m.Info()
	if err != nil {
		return fmt.Errorf("inspect %s: %w", mapRedirect, err)
	}
	for _, iface := range ifaces {
		l, err := ns.Netlink().LinkByName(iface)
		if err != nil {
			return fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
		}
		idx := l.Attrs().Index
		if err := devmapFits(info.Type, info.MaxEntries, idx); err != nil {
			return fmt.Errorf("node1/%s has ifindex %d: %w", iface, idx, err)
		}
		val := make([]byte, info.ValueSize) // ifindex, then (bpf_devmap_val) no program
		binary.NativeEndian.PutUint32(val, uint32(idx))
		err = ns.Do(func() error { return m.Update(uint32(idx), val, ebpf.UpdateAny) })
		if err != nil {
			return fmt.Errorf("add node1/%s (ifindex %d) to %s: %w", iface, idx, mapRedirect, err)
		}
	}
	return nil
}

// fillARPTable puts each interface's IPv4 addresses into arp_table, in
// network byte order as packets carry them, with the interface's MAC.
func fillARPTable(ns *namespace.NS, m *ebpf.Map, ifaces []string) error {
	for _, iface := range ifaces {
		l, err := ns.Netlink().LinkByName(iface)
		if err != nil {
			return fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
		}
		addrs, err := ns.Netlink().AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("addresses of %s in %s: %w", iface, ns.Name, err)
		}
		mac := make([]byte, m.ValueSize()) // the MAC, then padding
		copy(mac, l.Attrs().HardwareAddr)
		for _, a := range addrs {
			if err := m.Update(a.IP.To4(), mac, ebpf.UpdateAny); err != nil {
				return fmt.Errorf("add %s (node1/%s) to %s: %w", a.IP, iface, mapARP, err)
			}
		}
	}
	return nil
}
