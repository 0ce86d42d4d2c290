// Package tcpconnect is the eBPF introduction's TCP connection tracer as a
// lab: a tracing program reports every IPv4 connect() of the machine,
// {pid, comm, saddr, daddr, dport}, through a perf buffer.
package tcpconnect

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Names the introduction uses; an --obj must provide them.
const (
	labName = "tcp_connect"
	// progName runs at the tracepoint here, or at tcp_v4_connect's entry
	// in the kprobe variant; retName is that variant's kretprobe.
	progName = "tcp_connect"
	retName  = "tcp_connect_ret"
	mapName  = "events"
	// tracepoint is where the reference program runs.
	tracepoint = "sock/inet_sock_set_state"
	kprobeFunc = "tcp_v4_connect"
	linkPin    = "link_" + progName
	retPin     = "link_" + retName
	// ringPages per CPU: the program reports every TCP connect of the
	// machine, other learners' included, and a check reads the rings
	// once its connects are done.
	ringPages = 64
)

// Steps after the base exercise.
const (
	stepOutcome = "outcome"
	stepLatency = "latency"
	// socklist is the steps' map: socket -> connect under way, the
	// introduction's name for what its kprobe remembers.
	socklist = "socklist"
)

var (
	events      = loader.MapShape{Type: ebpf.PerfEventArray}
	socklistMap = loader.MapShape{Type: ebpf.Hash, Also: []ebpf.MapType{ebpf.LRUHash}, KeySize: 8}
)

// wants are what each step needs of an object besides its programs,
// whose types depend on the hooks the learner chose (hooks).
var wants = map[string]loader.Want{
	"":          {Maps: map[string]loader.MapShape{mapName: events}},
	stepOutcome: {Maps: map[string]loader.MapShape{mapName: events, socklist: socklistMap}},
	stepLatency: {Maps: map[string]loader.MapShape{mapName: events, socklist: socklistMap}},
}

// programs are the embedded objects, one per step.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":          loadTcpConnect,
	stepOutcome: loadTcpConnectOutcome,
	stepLatency: loadTcpConnectLatency,
}

// Lab is the tcp_connect lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

// guides are the guide's translations, guide.<lang>.md.
//
//go:embed guide.*.md
var guides embed.FS

//go:embed guide.md
var guide string

var (
	//go:embed tcp_connect.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

func steps() []labs.Step {
	return []labs.Step{
		{Summary: "report every IPv4 connect(): pid, comm, saddr, daddr, dport", Files: baseFiles},
		{Name: stepOutcome, Summary: "report each connect when it ends, established or refused, remembering it in socklist", Files: labs.StepFiles(stepFiles, stepOutcome), Object: _TcpConnectOutcomeBytes},
		{Name: stepLatency, Summary: "report how long each established connect took, in microseconds (tcpconnlat)", Files: labs.StepFiles(stepFiles, stepLatency), Object: _TcpConnectLatencyBytes},
	}
}

// Info describes the lab. Its program is on no interface: it runs at a
// tracepoint for every TCP socket of the machine. check connects from
// the pair's host to node1.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     labName,
		Summary:  "report every TCP connect() with pid, comm and addresses through a perf buffer (eBPF introduction)",
		Source:   "eBPF introduction (bcc)",
		Topology: "pair",
		Attach: []labs.Attach{
			{Hook: labs.HookTracepoint, Target: tracepoint, Program: progName, Maps: []string{mapName}},
			{Hook: labs.HookKprobe, Target: kprobeFunc, Variant: labs.VariantKprobe, Program: progName, Maps: []string{mapName}},
			{Hook: labs.HookKretprobe, Target: kprobeFunc, Variant: labs.VariantKprobe, Program: retName, Maps: []string{mapName}},
		},
		Next: []string{
			"sudo xdplab traffic tcp --from host --to {addr:dut}:8080{instance}   # refused (nobody listens there), yet watch shows its connect",
		},
		Guide:  guide,
		Guides: guides,
		Steps:  steps(),
		Object: _TcpConnectBytes,
	}
}

// Validate checks the step and a learner's object before anything is
// created.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "tcp_connect has no step %q", opts.Step)
	}
	if opts.Obj == "" {
		return nil
	}
	spec, err := loader.SpecFromFile(opts.Obj, wants[opts.Step])
	if err != nil {
		return err
	}
	_, err = hooks(spec, "")
	return err
}

// hooks are where the object's programs attach: tcp_connect, and the
// kprobe variant's tcp_connect_ret when the object has it.
func hooks(spec *ebpf.CollectionSpec, pinDir string) ([]loader.TracingAttach, error) {
	h, err := labs.TracingHook(spec, labName, progName, "tracepoint/"+tracepoint,
		"int "+progName+"(struct inet_sock_set_state_args *ctx), reporting the change from TCP_CLOSE to TCP_SYN_SENT")
	if err != nil {
		return nil, err
	}
	out := []loader.TracingAttach{{Program: progName, Hook: h, Pin: filepath.Join(pinDir, linkPin)}}
	if _, ok := spec.Programs[retName]; ok && h.Kprobe() {
		rh, err := labs.TracingHook(spec, labName, retName, "tracepoint/"+tracepoint, "")
		if err != nil {
			return nil, err
		}
		out = append(out, loader.TracingAttach{Program: retName, Hook: rh, Pin: filepath.Join(pinDir, retPin)})
	}
	return out, nil
}

// Up loads the program (or the learner's), pins events and attaches the
// programs, pinning their links: they run until down removes the pins.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	step := env.Options.Step
	spec, err := loader.Spec(programs[step], env.Options.Obj, wants[step])
	if err != nil {
		return err
	}
	hs, err := hooks(spec, env.PinDir)
	if err != nil {
		return err
	}
	return loader.LoadTracing(spec, env.PinDir, hs, slices.Sorted(maps.Keys(wants[step].Maps))...)
}

// Watch prints one line per event in the introduction's columns, PID COMM
// SADDR DADDR DPORT, for every TCP connect of the machine.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	rd, err := grade.OpenPerf(env, mapName, ringPages)
	if err != nil {
		return err
	}
	defer rd.Close()
	step := env.Options.Step
	fmt.Fprintln(w, headers[step])
	// Flush makes Read return what is still in the rings, then ErrFlushed.
	stop := context.AfterFunc(ctx, func() { rd.Flush() })
	defer stop()
	var lost uint64
	for {
		rec, err := rd.Read()
		if errors.Is(err, perf.ErrFlushed) {
			break
		}
		if err != nil {
			return fmt.Errorf("read perf events: %w", err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			continue
		}
		ev, err := Decode(rec.RawSample, step)
		if err != nil {
			fmt.Fprintf(w, "event on CPU %d: %v\n", rec.CPU, err)
			continue
		}
		fmt.Fprintln(w, ev.Format())
	}
	if lost > 0 {
		fmt.Fprintf(w, "%d events lost (the rings were full)\n", lost)
	}
	return nil
}
