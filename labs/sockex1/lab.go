// Package sockex1 is the kernel's samples/bpf sockex1 as a lab: a socket
// filter on a packet socket bound to node1's lo counts bytes per IP protocol.
package sockex1

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Names the sample uses; an --obj must provide them.
const (
	labName  = "sockex1"
	progName = "bpf_prog1"
	mapName  = "my_map"
	progPin  = "prog_" + progName
)

// wantValue is what an object must provide for a step whose my_map holds
// values of valueSize bytes: a long byte count (8), or the packets step's
// struct pair {long packets; long bytes;} (16).
func wantValue(valueSize uint32) loader.Want {
	return loader.Want{
		Programs: map[string]ebpf.ProgramType{progName: ebpf.SocketFilter},
		Maps:     map[string]loader.MapShape{mapName: {Type: ebpf.Array, KeySize: 4, ValueSize: valueSize}},
	}
}

// Steps after the base exercise.
const (
	stepPackets = "packets"
	stepSnap    = "snap"
)

// The exercises: the base exercise's files beside the lab's program, each
// step's in steps/<name>/.
var (
	//go:embed sockex1.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

// program is what up loads for a step without --obj, and the shape an
// --obj must have for it.
type program struct {
	load func() (*ebpf.CollectionSpec, error)
	want loader.Want
}

var programs = map[string]program{
	"":          {loadSockex1, wantValue(8)},
	stepPackets: {loadSockex1Packets, wantValue(16)},
	stepSnap:    {loadSockex1Snap, wantValue(8)},
}

// steps lists the exercises in the order a learner takes them.
func steps() []labs.Step {
	step := func(name string) fs.FS { return labs.StepDir(stepFiles, "steps/"+name) }
	return []labs.Step{
		{Summary: "count bytes per IP protocol of what leaves lo, keep nothing (the sample)", Files: baseFiles},
		{Name: stepPackets, Summary: "count packets and bytes per protocol (sockex2's struct pair), IPv4 only",
			Files: step(stepPackets), Object: _Sockex1PacketsBytes},
		{Name: stepSnap, Summary: "let the socket keep the first 34 bytes (Ethernet + IPv4 headers) of each packet leaving lo",
			Files: step(stepSnap), Object: _Sockex1SnapBytes},
	}
}

// Lab is the sockex1 lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

// guides are the guide's translations, guide.<lang>.md.
//
//go:embed guide.*.md
var guides embed.FS

//go:embed guide.md
var guide string

// Info describes the lab. It has no XDP program, so no modes: its filter
// runs on a packet socket on node1's lo that check and watch each open.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     labName,
		Summary:  "count bytes per IP protocol with a socket filter on a packet socket (samples/bpf sockex1)",
		Source:   "kernel samples/bpf",
		Topology: "pair",
		Attach:   []labs.Attach{{Node: "node1", Iface: "lo", Hook: labs.HookSocket, Program: progName, Maps: []string{mapName}}},
		Next: []string{
			"sudo xdplab traffic ping --from node1 --to 127.0.0.1 -c 5{instance}   # while watch runs: ICMP 980 bytes",
		},
		Keys:   map[string]labs.KeyFormat{mapName: labs.KeyIPProto},
		Guide:  guide,
		Steps:  steps(),
		Object: _Sockex1Bytes,
		Guides: guides,
	}
}

// Validate checks the step and a learner's object before anything is
// created. An object that has the shape of another step is refused with
// the --step that loads it.
func (*Lab) Validate(opts labs.Options) error {
	p, ok := programs[opts.Step]
	if !ok {
		return labs.Errorf(labs.ErrUsage, "sockex1 has no step %q", opts.Step) // the runner lists the steps before this
	}
	err := loader.CheckObj(opts.Obj, p.want)
	if err == nil || !errors.Is(err, loader.ErrBadObject) {
		return err
	}
	for _, s := range steps() {
		if s.Name != opts.Step && loader.CheckObj(opts.Obj, programs[s.Name].want) == nil {
			return fmt.Errorf("%w; its my_map fits step %s (%s): add `--step %s`", err, s.Title(), s.Summary, s.Title())
		}
	}
	return err
}

// Up loads and pins the program and its map. Unlike the sample it attaches
// nothing: a socket filter lives only as long as its socket and `up` exits,
// so check and watch each open their own socket with the pinned program.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	p := programs[env.Options.Step]
	coll, err := loader.LoadAndPin(p.load, env.Options.Obj, p.want, env.PinDir, mapName)
	if err != nil {
		return err
	}
	defer coll.Close()
	if err := coll.Programs[progName].Pin(env.Pin(progPin)); err != nil {
		return fmt.Errorf("pin program %s: %w", progName, err)
	}
	return nil
}

// Format is the sample's line, for the bytes counted by protocol.
func Format(c grade.Counters[uint32]) string {
	return fmt.Sprintf("TCP %d UDP %d ICMP %d bytes\n", c[protoTCP], c[protoUDP], c[protoICMP])
}

// FormatPairs is the packets step's line: the sample's, with packets.
func FormatPairs(packets, bytes grade.Counters[uint32]) string {
	return fmt.Sprintf("TCP %d packets %d bytes UDP %d packets %d bytes ICMP %d packets %d bytes\n",
		packets[protoTCP], bytes[protoTCP], packets[protoUDP], bytes[protoUDP], packets[protoICMP], bytes[protoICMP])
}

// Watch attaches the pinned filter to its own socket on node1's lo and
// prints, once a second, what it counted since it started: what the
// sample prints for its fresh map.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	filter, err := attachFilter(env, grade.Loopback(env.Topo.MustRole("dut")), witness.Options{})
	if err != nil {
		return err
	}
	if filter != nil {
		defer filter.Close()
	}
	read := func() (tally, error) {
		m, err := grade.OpenMap(env, mapName, true)
		if err != nil {
			return tally{}, err
		}
		defer m.Close()
		return readTally(m)
	}
	base, err := read()
	if err != nil {
		return err
	}
	return labs.Every(ctx, time.Second, func() error {
		t, err := read()
		if err != nil {
			return err
		}
		t = t.sub(base)
		if t.packets != nil {
			fmt.Fprint(w, FormatPairs(t.packets, t.bytes))
		} else {
			fmt.Fprint(w, Format(t.bytes))
		}
		return nil
	})
}

// attachFilter opens a packet socket on p's interface that runs the pinned
// bpf_prog1 for as long as it is open: a socket filter lives and dies with
// its socket. The socket hears nothing before the filter is attached (so
// no packet reaches it unfiltered, unlike the sample's, which binds
// first). What the filter keeps waits in the socket for whoever reads it:
// check does, watch does not.
//
// In a bare lab the learner's own process runs the filter on its socket
// on lo (found by name, see labs.Attached), so there is nothing to open on
// lo: a second socket would count every packet twice. It returns nil then.
func attachFilter(env *labs.Env, p topology.Place, opts witness.Options) (*witness.Witness, error) {
	if env.Options.Bare {
		return nil, nil
	}
	return openFilter(env, p, opts)
}

// openFilter opens a packet socket on p's interface that runs the lab's
// filter: the pinned bpf_prog1, or in a bare lab the learner's own program,
// by its id, on an interface where the learner's socket sees nothing.
func openFilter(env *labs.Env, p topology.Place, opts witness.Options) (*witness.Witness, error) {
	prog, err := filterProgram(env)
	if err != nil {
		return nil, err
	}
	// The socket holds its own reference once attached.
	defer prog.Close()
	opts.Filter = prog
	return witness.Open(p.NS, p.Iface, opts)
}

// filterProgram opens the filter the lab grades.
func filterProgram(env *labs.Env) (*ebpf.Program, error) {
	if !env.Options.Bare {
		return grade.OpenProgram(env, progPin)
	}
	for _, pt := range env.Attached.Points {
		if pt.Hook != labs.HookSocket || pt.Program == nil {
			continue
		}
		prog, err := ebpf.NewProgramFromID(pt.Program.ID)
		if errors.Is(err, os.ErrNotExist) {
			return nil, labs.Errorf(labs.ErrEnvironment, "your program %s at %s is gone: it was detached while xdplab was using it; run your loader again, then %s",
				pt.Program, pt.Where, labs.Cmd(env.Instance, "check sockex1"))
		}
		if err != nil {
			return nil, labs.Errorf(labs.ErrEnvironment, "open your program %s at %s: %w", pt.Program, pt.Where, err)
		}
		return prog, nil
	}
	// The check's first expectation has said so already.
	return nil, labs.Errorf(labs.ErrEnvironment, "no socket filter named %s runs in this bare lab: run your loader, then %s", progName, labs.Cmd(env.Instance, "check sockex1"))
}
