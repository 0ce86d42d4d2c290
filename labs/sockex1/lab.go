// Package sockex1 is the kernel's samples/bpf sockex1 as a lab: a socket
// filter on a packet socket bound to node1's lo counts bytes per IP protocol.
package sockex1

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Names the sample uses; an --obj must provide them.
const (
	labName  = "sockex1"
	progName = "bpf_prog1"
	mapName  = "my_map"
	progPin  = "prog_" + progName
)

var want = loader.Want{
	Programs: map[string]ebpf.ProgramType{progName: ebpf.SocketFilter},
	Maps:     map[string]loader.MapShape{mapName: {Type: ebpf.Array, KeySize: 4, ValueSize: 8}},
}

// IP protocol numbers, the map's keys.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// Lab is the sockex1 lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

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
		Object: _Sockex1Bytes,
	}
}

// Validate checks a learner's object before anything is created.
func (*Lab) Validate(opts labs.Options) error { return loader.CheckObj(opts.Obj, want) }

// Up loads and pins the program and its map. Unlike the sample it attaches
// nothing: a socket filter lives only as long as its socket and `up` exits,
// so check and watch each open their own socket with the pinned program.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	coll, err := loader.LoadAndPin(loadSockex1, env.Options.Obj, want, env.PinDir, mapName)
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

// Watch attaches the pinned filter to its own socket on node1's lo and
// prints, once a second, the bytes counted since it started: what the
// sample prints for its fresh map.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	filter, err := attachFilter(env)
	if err != nil {
		return err
	}
	defer filter.Close()
	base, err := grade.ReadPinned[uint32](env, mapName)
	if err != nil {
		return err
	}
	return labs.Every(ctx, time.Second, func() error {
		c, err := grade.ReadPinned[uint32](env, mapName)
		if err != nil {
			return err
		}
		fmt.Fprint(w, Format(c.Sub(base)))
		return nil
	})
}

// attachFilter opens the socket that runs the pinned bpf_prog1 on the
// dut's lo for as long as it is open: a socket filter lives and dies with
// its socket. The socket hears nothing before the filter is attached (so
// no packet reaches it unfiltered, unlike the sample's, which binds
// first). Nothing reads it: the sample's filter keeps no packet for it,
// and what another filter keeps waits in the socket until it closes.
//
// In a bare lab the learner's own process runs the filter on its socket
// (found by name, see labs.Attached), so there is nothing to open: a
// second socket would count every packet twice.
func attachFilter(env *labs.Env) (io.Closer, error) {
	if env.Options.Bare {
		return learnersSocket{}, nil
	}
	prog, err := grade.OpenProgram(env, progPin)
	if err != nil {
		return nil, err
	}
	// The socket holds its own reference once attached.
	defer prog.Close()
	lo := grade.Loopback(env.Topo.MustRole("dut"))
	return witness.Open(lo.NS, lo.Iface, witness.Options{Filter: prog})
}

// learnersSocket stands for the socket of a bare lab's learner, which the
// check neither opens nor closes.
type learnersSocket struct{}

func (learnersSocket) Close() error { return nil }
