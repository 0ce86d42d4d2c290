package labs

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/internal/tracing"
)

// A tracing program (tracepoint, kprobe) runs for every process of the
// machine, not in the lab's namespaces: deleting the namespaces does not
// stop it, only its link going does. Its link is pinned in the lab's pin
// directory like an XDP link, and goes with it.

// tracingHook says where a link attaches a tracing program, as the kernel
// tells: the hook ("tracepoint", "kprobe", ...) and its target. ok is false
// for a link of another kind (XDP).
func tracingHook(info *link.Info) (hook, target string, ok bool) {
	switch info.Type {
	case link.PerfEventType:
		pe := info.PerfEvent()
		if pe == nil {
			return "perf_event", "", true
		}
		switch pe.Type {
		case link.PerfEventTracepoint:
			if tp := pe.Tracepoint(); tp != nil {
				return HookTracepoint, tp.Tracepoint, true
			}
			return HookTracepoint, "", true
		case link.PerfEventKprobe, link.PerfEventKretprobe:
			hook := HookKprobe
			if pe.Type == link.PerfEventKretprobe {
				hook = HookKretprobe
			}
			if kp := pe.Kprobe(); kp != nil {
				return hook, kp.Function, true
			}
			return hook, "", true
		}
		return "perf_event", "", true
	case link.RawTracepointType:
		if rt := info.RawTracepoint(); rt != nil {
			return "raw_tp", rt.Name, true
		}
		return "raw_tp", "", true
	case link.TracingType:
		return "tp_btf", "", true
	case link.KprobeMultiType:
		return "kprobe_multi", "", true
	}
	return "", "", false
}

// tracingAttachments are the tracing programs a lab's pinned links attach:
// what up left running for the whole machine.
func tracingAttachments(pinDir string, pins []state.Pin) []state.Attachment {
	var out []state.Attachment
	for _, p := range pins {
		if p.Kind != state.PinLink {
			continue
		}
		l, err := link.LoadPinnedLink(filepath.Join(pinDir, p.Name), nil)
		if err != nil {
			continue
		}
		info, err := l.Info()
		l.Close()
		if err != nil {
			continue
		}
		if hook, target, ok := tracingHook(info); ok {
			out = append(out, state.Attachment{Hook: hook, Target: target, Program: p.Object, ProgID: p.ProgID})
		}
	}
	return out
}

// tracingLinks are the ids of the tracing links pinned in dir.
func tracingLinks(dir string) []link.ID {
	entries, _ := os.ReadDir(dir)
	var ids []link.ID
	for _, e := range entries {
		l, err := link.LoadPinnedLink(filepath.Join(dir, e.Name()), nil)
		if err != nil {
			continue // a map or a program
		}
		if info, err := l.Info(); err == nil {
			if _, _, ok := tracingHook(info); ok {
				ids = append(ids, info.ID)
			}
		}
		l.Close()
	}
	return ids
}

// linkRelease bounds the wait for the kernel to free links whose pins
// were removed.
const linkRelease = 5 * time.Second

// awaitReleased waits until the links are gone from the kernel. These
// links cannot be detached (BPF_LINK_DETACH does not apply to them): the
// kernel frees one, and takes its program off the hook, once its pin is
// removed and no process holds it, in work it queues for later. Waiting
// for that means that when down returns, no program of the lab runs any
// more, anywhere on the machine. A link still there at the bound is named
// in the error: a process holds it.
func awaitReleased(ids []link.ID) error {
	deadline := time.Now().Add(linkRelease)
	for _, id := range ids {
		for {
			l, err := link.NewFromID(id)
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if err == nil {
				l.Close()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("tracing link %d is still attached %v after its pin was removed: a process holds it (`sudo bpftool link show id %d` names it)", id, linkRelease, id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// tracingProblem is the problem of a tracing program that up attached,
// when its link pin is gone: the program no longer runs (the pin held its
// only link). pin is the pin's name, which the problem explains.
func tracingProblem(rec state.Lab, a state.Attachment, gone map[string]bool, fix string) (p Problem, pin string, ok bool) {
	for _, pn := range rec.Pins {
		if pn.Kind == state.PinLink && pn.ProgID == a.ProgID && gone[pn.Name] {
			return Problem{
				What: fmt.Sprintf("%s: %s is no longer attached (its link pin %s is gone)", a.Where(), a.Program, filepath.Join(rec.PinDir, pn.Name)),
				Fix:  fix,
			}, pn.Name, true
		}
	}
	return Problem{}, "", false
}

// tracingPreflight is what a tracing lab needs before anything is built:
// tracefs, where tracepoints are found, and a lab up by xdplab, since a
// program on a tracing hook belongs to no node where a bare lab's check
// could look for the learner's.
func (r *Runner) tracingPreflight(info Info, opts Options) error {
	if !info.Tracing() {
		return nil
	}
	if opts.Bare {
		return Errorf(ErrUsage, "%s cannot be up bare: its program runs on a tracing hook of the whole machine, not in one of the lab's nodes, "+
			"so check could not tell your loader's program from another learner's; load your object with %s (or --src FILE.c) instead",
			info.Name, r.Cmd("up "+info.Name+" --obj FILE.o"))
	}
	// A machine that booted without tracefs (a container, a minimal init)
	// has its directory: mount it, as doctor does, and say so.
	if !tracing.Mounted() {
		if err := tracing.Mount(); err != nil {
			return Errorf(ErrEnvironment, "%w at %s, which %s's programs need, and mounting it failed (%w): %s",
				tracing.ErrNoTracefs, tracing.Dir, info.Name, err, tracing.MountFix)
		}
		fmt.Fprintf(r.log(), "tracefs was not mounted: mounted it at %s (%s's programs need it)\n", tracing.Dir, info.Name)
	}
	return nil
}

// TracingHook is where the program prog of a tracing lab's object attaches,
// as its section says, when this kernel can attach it there. A kprobe
// program on a kernel without kprobes (the reason the lab's own program
// uses a tracepoint) is refused with the way to write it for the
// tracepoint instead: tracepointSEC is that section, and signature the
// function's.
func TracingHook(spec *ebpf.CollectionSpec, lab, prog, tracepointSEC, signature string) (loader.Hook, error) {
	p, ok := spec.Programs[prog]
	if !ok {
		return loader.Hook{}, fmt.Errorf("%w: no program named %q (have: %s); the lab attaches the function %s, with SEC(%q)",
			loader.ErrBadObject, prog, strings.Join(slices.Sorted(maps.Keys(spec.Programs)), ", "), prog, tracepointSEC)
	}
	h, err := loader.HookOf(p)
	if err != nil {
		return h, err
	}
	if err := h.Usable(); err != nil {
		if errors.Is(err, loader.ErrNoKprobes) {
			return h, Errorf(ErrEnvironment, "%s is a kprobe program (SEC(%q)), the introduction's way, but %w: "+
				"write it for the tracepoint instead: SEC(%q) %s "+
				"(`xdplab init %s --solution` writes it; `xdplab doctor` says which variant this machine runs)",
				prog, p.SectionName, err, tracepointSEC, signature, lab)
		}
		return h, Errorf(ErrEnvironment, "%s: %w", prog, err)
	}
	return h, nil
}

// TracingStatus is a program that up left on a tracing hook.
type TracingStatus struct {
	Hook    string `json:"hook"`
	Target  string `json:"target"`
	Program string `json:"program"`
	ProgID  uint32 `json:"prog_id"`
	// Running says whether the kernel still has the program.
	Running bool `json:"running"`
}

// tracingStatus lists the tracing programs the lab's record holds, and
// whether each still runs.
func tracingStatus(rec state.Lab) []TracingStatus {
	var out []TracingStatus
	for _, a := range rec.Attached {
		if a.Hook == "" {
			continue
		}
		ts := TracingStatus{Hook: a.Hook, Target: a.Target, Program: a.Program, ProgID: a.ProgID}
		if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(a.ProgID)); err == nil {
			p.Close()
			ts.Running = true
		}
		out = append(out, ts)
	}
	return out
}

// writeTracing prints the tracing programs of a lab's status.
func writeTracing(w io.Writer, ts []TracingStatus) {
	for _, t := range ts {
		state := "runs for every process of this machine"
		if !t.Running {
			state = "gone"
		}
		fmt.Fprintf(w, "  [machine] %s %s: %s id %d (%s)\n", t.Hook, t.Target, t.Program, t.ProgID, state)
	}
}
