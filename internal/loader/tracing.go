package loader

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/tracing"
)

// Kinds of tracing hooks, as section names spell them.
const (
	Tracepoint = "tracepoint" // SEC("tracepoint/group/name"), or "tp/..."
	RawTP      = "raw_tp"     // SEC("raw_tp/name"), or "raw_tracepoint/..."
	TPBTF      = "tp_btf"     // SEC("tp_btf/name")
	Kprobe     = "kprobe"     // SEC("kprobe/function")
	Kretprobe  = "kretprobe"  // SEC("kretprobe/function")
)

// Hook is where a tracing program attaches, as its section name says.
type Hook struct {
	Kind string
	// Target is "group/name" for a tracepoint, the tracepoint's name for
	// raw_tp and tp_btf, the kernel function for a kprobe.
	Target string
}

func (h Hook) String() string { return h.Kind + " " + h.Target }

// Kprobe reports whether the hook needs kprobes.
func (h Hook) Kprobe() bool { return h.Kind == Kprobe || h.Kind == Kretprobe }

// ErrNoKprobes marks a kprobe program on a kernel that has no kprobes.
var ErrNoKprobes = errors.New("this kernel has no kprobes")

// HookOf reads where a tracing program attaches from its type and section
// name. A program of another type, or one whose section names no target
// (bcc's bare function names, a plain SEC("kprobe")), is an ErrBadObject
// that says what to write.
func HookOf(p *ebpf.ProgramSpec) (Hook, error) {
	kind, _, _ := strings.Cut(p.SectionName, "/")
	h := Hook{Target: p.AttachTo}
	switch {
	case p.Type == ebpf.TracePoint:
		h.Kind = Tracepoint
		if g, n, ok := strings.Cut(h.Target, "/"); !ok || g == "" || n == "" {
			return h, fmt.Errorf("%w: program %s: SEC(%q) names no tracepoint: write SEC(\"tracepoint/<group>/<name>\")", ErrBadObject, p.Name, p.SectionName)
		}
	case p.Type == ebpf.RawTracepoint:
		h.Kind = RawTP
	case p.Type == ebpf.Tracing && p.AttachType == ebpf.AttachTraceRawTp:
		h.Kind = TPBTF
	case p.Type == ebpf.Kprobe && (kind == "kprobe" || kind == "kretprobe"):
		h.Kind = kind
	default:
		return h, fmt.Errorf("%w: program %s is of type %s (SEC(%q)), not a tracepoint or kprobe program", ErrBadObject, p.Name, p.Type, p.SectionName)
	}
	if h.Target == "" {
		return h, fmt.Errorf("%w: program %s: SEC(%q) does not say what to attach to: write SEC(\"%s/<target>\")", ErrBadObject, p.Name, p.SectionName, kind)
	}
	return h, nil
}

// Usable says why the hook cannot be attached on this kernel, or nil: a
// tracepoint it lacks, or kprobes (an error wrapping ErrNoKprobes).
func (h Hook) Usable() error {
	switch h.Kind {
	case Tracepoint:
		g, n, _ := strings.Cut(h.Target, "/")
		return tracing.Tracepoint(g, n)
	case Kprobe, Kretprobe:
		if ok, why := tracing.Kprobes(); !ok {
			return fmt.Errorf("%w (%s)", ErrNoKprobes, why)
		}
	}
	return nil
}

// AttachTracing attaches prog where h says and pins the link at pin, so
// the program keeps running after we exit. Until the pin is made, the
// link lives only in this process: a kill leaves nothing attached.
func AttachTracing(prog *ebpf.Program, h Hook, pin string) error {
	var (
		l   link.Link
		err error
	)
	switch h.Kind {
	case Tracepoint:
		g, n, _ := strings.Cut(h.Target, "/")
		l, err = link.Tracepoint(g, n, prog, nil)
	case RawTP:
		l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: h.Target, Program: prog})
	case TPBTF:
		l, err = link.AttachTracing(link.TracingOptions{Program: prog})
	case Kprobe:
		l, err = link.Kprobe(h.Target, prog, nil)
	case Kretprobe:
		l, err = link.Kretprobe(h.Target, prog, nil)
	default:
		return fmt.Errorf("attach %s: unknown hook", h)
	}
	if err != nil {
		return fmt.Errorf("attach %s to %s: %w", prog, h, err)
	}
	defer l.Close()
	if err := l.Pin(pin); err != nil {
		return fmt.Errorf("pin the link of %s: %w", h, err)
	}
	return nil
}

// TracingAttach is a program of a collection, where to attach it, and
// where to pin its link.
type TracingAttach struct {
	Program string
	Hook    Hook
	Pin     string
}

// LoadTracing loads spec, pins the named maps in dir, then attaches each
// program and pins its link: the programs run until the pins go.
func LoadTracing(spec *ebpf.CollectionSpec, dir string, attach []TracingAttach, maps ...string) error {
	coll, err := Load(spec)
	if err != nil {
		return err
	}
	defer coll.Close()
	if err := PinMaps(coll, dir, maps...); err != nil {
		return err
	}
	for _, a := range attach {
		if err := AttachTracing(coll.Programs[a.Program], a.Hook, a.Pin); err != nil {
			return err
		}
	}
	return nil
}
