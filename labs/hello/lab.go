// Package hello is the eBPF introduction's first program as a lab: a
// tracing program on clone() that prints "Hello, eBPF world!" into the
// kernel's trace.
package hello

import (
	"context"
	"embed"
	"io"
	"runtime"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/labs"
)

// Names the introduction's program has here; an --obj must provide them.
const (
	labName  = "hello"
	progName = "trace_clone"
	// mapName is the count step's map: thread id -> clone() calls.
	mapName = "clones"
	linkPin = "link_" + progName
	// tracepoint is where the reference program runs.
	tracepoint = "syscalls/sys_enter_clone"
)

// kprobeTarget is the kernel function a kprobe on clone() attaches to, as
// bcc's get_syscall_fnname("clone") names it: the syscall's wrapper
// carries the architecture's prefix.
func kprobeTarget() string {
	if runtime.GOARCH == "arm64" {
		return "__arm64_sys_clone"
	}
	return "__x64_sys_clone"
}

// Steps after the base exercise.
const (
	stepWhoami = "whoami"
	stepCount  = "count"
)

// programs are the embedded objects, one per step.
var programs = map[string]func() (*ebpf.CollectionSpec, error){
	"":         loadHello,
	stepWhoami: loadHelloWhoami,
	stepCount:  loadHelloCount,
}

// wants are what each step needs of an object besides trace_clone, whose
// type depends on the hook its learner chose (tracingProgram).
var wants = map[string]loader.Want{
	"":         {},
	stepWhoami: {},
	stepCount:  {Maps: map[string]loader.MapShape{mapName: {Type: ebpf.Hash, Also: []ebpf.MapType{ebpf.LRUHash}, KeySize: 4, ValueSize: 8}}},
}

// Lab is the hello lab.
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
	//go:embed hello.c exercise.md
	baseFiles embed.FS
	//go:embed steps
	stepFiles embed.FS
)

func steps() []labs.Step {
	return []labs.Step{
		{Summary: "print \"Hello, eBPF world!\" into the trace at every clone()", Files: baseFiles},
		{Name: stepWhoami, Summary: "say which thread called clone(): its id and its name", Files: labs.StepFiles(stepFiles, stepWhoami), Object: _HelloWhoamiBytes},
		{Name: stepCount, Summary: "count clone() calls per thread in a hash map instead of printing", Files: labs.StepFiles(stepFiles, stepCount), Object: _HelloCountBytes},
	}
}

// Info describes the lab. Its program belongs to no node: it runs at a
// tracepoint, for every process of the machine. The single topology's
// node1 is only a place to run commands from.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     labName,
		Summary:  "print \"Hello, eBPF world!\" from a tracing program at every clone() (eBPF introduction)",
		Source:   "eBPF introduction (bcc)",
		Topology: "single",
		Attach: []labs.Attach{
			{Hook: labs.HookTracepoint, Target: tracepoint, Program: progName},
			{Hook: labs.HookKprobe, Target: kprobeTarget(), Variant: labs.VariantKprobe, Program: progName},
		},
		Next: []string{
			"sudo xdplab exec node1{instance} -- true   # any new process calls clone(): watch prints a line for it",
		},
		Guide:  guide,
		Guides: guides,
		Steps:  steps(),
		Object: _HelloBytes,
	}
}

// Validate checks the step and a learner's object before anything is
// created: trace_clone must be a tracing program this kernel can attach.
func (*Lab) Validate(opts labs.Options) error {
	if programs[opts.Step] == nil {
		return labs.Errorf(labs.ErrUsage, "hello has no step %q", opts.Step)
	}
	if opts.Obj == "" {
		return nil
	}
	spec, err := loader.SpecFromFile(opts.Obj, wants[opts.Step])
	if err != nil {
		return err
	}
	_, err = tracingProgram(spec)
	return err
}

// tracingProgram is where trace_clone attaches, when this kernel can.
func tracingProgram(spec *ebpf.CollectionSpec) (loader.Hook, error) {
	return labs.TracingHook(spec, labName, progName, "tracepoint/"+tracepoint, "int "+progName+"(void *ctx), the same body")
}

// Up loads the step's program (or the learner's), pins the count step's
// map and attaches trace_clone where its section says, pinning the link:
// the program runs until down removes the pin.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	step := env.Options.Step
	spec, err := loader.Spec(programs[step], env.Options.Obj, wants[step])
	if err != nil {
		return err
	}
	hook, err := tracingProgram(spec)
	if err != nil {
		return err
	}
	var maps []string
	if step == stepCount {
		maps = []string{mapName}
	}
	return loader.LoadTracing(spec, env.PinDir, []loader.TracingAttach{{Program: progName, Hook: hook, Pin: env.Pin(linkPin)}}, maps...)
}

// Watch prints what the lab's program does as the introduction's front
// end shows it: the trace's lines that this lab's program printed (every
// step but count), or each thread's clone() calls as count's map grows.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	if env.Options.Step == stepCount {
		return watchCounts(ctx, env, w)
	}
	return watchLines(ctx, env, w)
}
