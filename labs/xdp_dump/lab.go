// Package xdpdump is the second lab: an XDP program on node1's veth1 that
// reports every new IPv4 TCP connection, with the packet, through a perf ring.
package xdpdump

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// The exercises: the base exercise's files beside the lab's program, each
// step's in steps/<name>/.
var (
	//go:embed xdp_dump.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

// Steps after the base exercise.
const (
	stepSynAck  = "syn_ack"
	stepHeaders = "headers"
)

// programs are the embedded objects, one per step, that up loads without
// --obj. Every step keeps the tutorial's names and map.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":          loadXdpDump,
	stepSynAck:  loadXdpDumpSynAck,
	stepHeaders: loadXdpDumpHeaders,
}

// steps lists the exercises in the order a learner takes them.
func steps() []labs.Step {
	step := func(name string) fs.FS { return labs.StepFiles(stepFiles, name) }
	return []labs.Step{
		{Summary: "report each new TCP connection (SYN without ACK) with its packet through a perf ring", Files: baseFiles},
		{Name: stepSynAck, Summary: "report the SYN-ACKs that answer node1's own connections instead", Files: step(stepSynAck), Object: _XdpDumpSynAckBytes},
		{Name: stepHeaders, Summary: "append only the headers (Ethernet, IPv4 and TCP with their options), not the payload", Files: step(stepHeaders), Object: _XdpDumpHeadersBytes},
	}
}

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
		Steps:  steps(),
		Object: _XdpDumpBytes,
		Guides: guides,
	}
}

// Validate checks the step and a learner's object before anything is
// created. Every step has the tutorial's program and map; the headers step
// appends fewer bytes than the packet has, so its events must say how many.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "xdp_dump has no step %q", opts.Step) // the runner lists the steps before this
	}
	if opts.Obj == "" {
		return nil
	}
	spec, err := loader.SpecFromFile(opts.Obj, want)
	if err != nil {
		return err
	}
	if opts.Step == stepHeaders && !LayoutOf(spec).HasLen {
		return fmt.Errorf("%w: --obj %s: in the headers step an event carries fewer bytes than the packet has, so user space needs their number: "+
			"give struct perf_event_item a __u32 pkt_len after the ports (16 bytes in all), set to the bytes appended, as the step's starter has (`xdplab init xdp_dump --step headers`)",
			loader.ErrBadObject, opts.Obj)
	}
	return nil
}

// Up loads the step's program (or the learner's), pins the perf map so
// watch and check can open a reader on it, and attaches to node1/veth1.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	coll, err := loader.LoadAndPin(programs[env.Options.Step], env.Options.Obj, want, env.PinDir, mapName)
	if err != nil {
		return err
	}
	defer coll.Close()
	native := env.Options.Mode == labs.ModeNative
	return loader.AttachXDP(env.Topo.MustNS("node1"), "veth1", coll.Programs[progName], native, env.Pin(linkPin))
}

// eventLayout is the metadata layout of the program that is up: the
// embedded program's, what the BTF of the learner's --obj says, or in a
// bare lab what the BTF of the program the learner attached says.
func eventLayout(env *labs.Env) (Layout, error) {
	if env.Options.Bare {
		return attachedLayout(env), nil
	}
	spec, err := loader.Spec(programs[env.Options.Step], env.Options.Obj, want)
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
	fmt.Fprintln(w, banner[env.Options.Step])
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

// banner is watch's first line, per step: the tutorial's for the base
// exercise.
var banner = map[string]string{
	"":          "All new TCP connection requests (SYN) coming to this host will be dumped here.",
	stepSynAck:  "All answers (SYN-ACK) to the connections this host opens will be dumped here.",
	stepHeaders: "All new TCP connection requests (SYN) coming to this host will be dumped here, headers only.",
}

// Summary is the tutorial's closing report, counting events (the tutorial
// summed sample bytes under that name).
func Summary(received, lost uint64) string {
	return fmt.Sprintf("\nSummary:\n\t%d Event(s) Received\n\t%d Event(s) Lost(e.g. small buffer, delays in processing)\n", received, lost)
}
