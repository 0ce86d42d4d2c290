// Package xdpdump is the second lab: an XDP program on node1's veth1 that
// reports every new IPv4 TCP connection, with the packet, through a perf ring.
package xdpdump

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Names the tutorial uses; an --obj must provide them.
const (
	labName  = "xdp_dump"
	progName = "xdp_dump"
	mapName  = "perfmap"
	linkPin  = "link_node1_veth1"
)

var want = loader.Want{
	Programs: map[string]ebpf.ProgramType{progName: ebpf.XDP},
	Maps:     map[string]loader.MapShape{mapName: {Type: ebpf.PerfEventArray}},
}

// ringPages is the size of each CPU's perf ring in pages: room for hundreds
// of SYNs with their packets before a slow reader loses any.
const ringPages = 16

// Lab is the xdp_dump lab.
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
		Summary:  "report new TCP connections (SYN) with the packet through a perf event ring",
		Source:   "go-xdp-examples",
		Topology: "pair",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Attach:   []labs.Attach{{Node: "node1", Iface: "veth1", Hook: labs.HookXDP, Program: progName, Maps: []string{mapName}}},
		Next: []string{
			"sudo xdplab exec node1{instance} -- python3 -m http.server 8888 --bind {addr:dut}   # a listener in node1",
			"sudo xdplab traffic tcp --from host --to {addr:dut}:8888{instance}   # while watch runs: one event per SYN",
		},
		Guide:  guide,
		Object: _XdpDumpBytes,
		Guides: guides,
	}
}

// Validate checks a learner's object before anything is created.
func (*Lab) Validate(opts labs.Options) error { return loader.CheckObj(opts.Obj, want) }

// Up loads the program, pins the perf map so watch and check can open a
// reader on it, and attaches to node1/veth1.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	coll, err := loader.LoadAndPin(loadXdpDump, env.Options.Obj, want, env.PinDir, mapName)
	if err != nil {
		return err
	}
	defer coll.Close()
	native := env.Options.Mode == labs.ModeNative
	return loader.AttachXDP(env.Topo.MustNS("node1"), "veth1", coll.Programs[progName], native, env.Pin(linkPin))
}

// eventLayout is the metadata layout of the object that is up: the embedded
// program's, or what the BTF of the learner's --obj says.
func eventLayout(env *labs.Env) (Layout, error) {
	spec, err := loader.Spec(loadXdpDump, env.Options.Obj, want)
	if err != nil {
		return Layout{}, fmt.Errorf("read the event layout: %w", err)
	}
	return LayoutOf(spec), nil
}

// openReader puts a ring per CPU into the pinned perf map. Only one reader
// gets the events: a second one (check while watch runs) takes the slots over.
func openReader(env *labs.Env) (*perf.Reader, error) {
	// The reader writes its rings into the map's slots.
	m, err := grade.OpenMap(env, mapName, false)
	if err != nil {
		return nil, err
	}
	defer m.Close() // the reader holds its own copy
	rd, err := perf.NewReader(m, ringPages*os.Getpagesize())
	if err != nil {
		return nil, fmt.Errorf("open perf reader on %s: %w", mapName, err)
	}
	return rd, nil
}

// Watch prints one tuple line and a hex dump per SYN, as the tutorial does,
// and on exit how many events arrived and how many the kernel dropped.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	layout, err := eventLayout(env)
	if err != nil {
		return err
	}
	rd, err := openReader(env)
	if err != nil {
		return err
	}
	defer rd.Close()
	fmt.Fprintln(w, "All new TCP connection requests (SYN) coming to this host will be dumped here.")
	fmt.Fprintln(w)

	// Flush makes Read return what is still in the rings, then ErrFlushed:
	// events that arrived before Ctrl-C are shown and counted, not dropped.
	stop := context.AfterFunc(ctx, func() { rd.Flush() })
	defer stop()
	var received, lost uint64
	for {
		rec, err := rd.Read()
		if errors.Is(err, perf.ErrFlushed) {
			break // only our Flush on Ctrl-C ends the loop this way
		}
		if err != nil {
			return fmt.Errorf("read perf events: %w", err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			continue
		}
		received++
		ev, err := Decode(rec.RawSample, layout)
		if err != nil {
			fmt.Fprintf(w, "event on CPU %d could not be decoded: %v\n\n", rec.CPU, err)
			continue
		}
		fmt.Fprint(w, ev.Format())
	}
	fmt.Fprint(w, Summary(received, lost))
	return nil
}

// Summary is the tutorial's closing report, counting events (the tutorial
// summed sample bytes under that name).
func Summary(received, lost uint64) string {
	return fmt.Sprintf("\nSummary:\n\t%d Event(s) Received\n\t%d Event(s) Lost(e.g. small buffer, delays in processing)\n", received, lost)
}
