package doctor

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/xdplab/xdplab/internal/tracing"
)

// TracingLab is what doctor needs to know of a lab whose programs run on
// tracing hooks: the tracepoints its reference programs use, and the
// kernel functions its kprobe variant (the bcc texts' way) attaches to.
type TracingLab struct {
	Name        string
	Tracepoints []string // "group/name"
	Kprobes     []string
}

// Tracing checks what the tracing labs need: tracefs (mounted when mount is
// set and it is missing), kprobe support, each lab's tracepoints, and says
// which variant of each lab this machine runs.
func Tracing(mount bool, tlabs []TracingLab) []Item {
	items := []Item{tracefs(mount)}
	kprobes, why := tracing.Kprobes()
	kp := Item{Name: "kprobes", Level: OK, Detail: "supported (" + why + ")"}
	if !kprobes {
		kp = Item{Name: "kprobes", Level: Warn, Detail: "none: " + why,
			Fix: "the tracing labs run on tracepoints here; their kprobe variants (--obj with SEC(\"kprobe/...\")) need a kernel with CONFIG_KPROBES and CONFIG_KPROBE_EVENTS"}
	}
	items = append(items, kp)
	seen := map[string]bool{}
	missing := map[string]error{}
	unknown := map[string]bool{}
	for _, l := range tlabs {
		for _, tp := range l.Tracepoints {
			if seen[tp] {
				continue
			}
			seen[tp] = true
			g, n, _ := strings.Cut(tp, "/")
			err := tracing.Tracepoint(g, n)
			it := Item{Name: "tracepoint " + tp, Level: OK, Detail: "present"}
			if errors.Is(err, os.ErrPermission) {
				// Without root tracefs hides the events: not the kernel's fault.
				unknown[tp] = true
				items = append(items, Item{Name: "tracepoint " + tp, Level: Skip, Detail: "not checked: reading tracefs needs the privileges above"})
				continue
			}
			if err != nil {
				missing[tp] = err
				it.Level, it.Detail = Fail, err.Error()
				it.Fix = "a kernel with CONFIG_FTRACE_SYSCALLS (syscalls/*) and tracepoints enabled"
				if errors.Is(err, tracing.ErrNoTracefs) {
					it.Fix = tracing.MountFix
				}
			}
			items = append(items, it)
		}
	}
	for _, l := range tlabs {
		items = append(items, variant(l, kprobes, missing, unknown))
	}
	return items
}

// variant says which way of writing the lab's program this machine runs.
func variant(l TracingLab, kprobes bool, missing map[string]error, unknown map[string]bool) Item {
	it := Item{Name: "lab " + l.Name, Level: OK}
	for _, tp := range l.Tracepoints {
		if unknown[tp] {
			it.Level, it.Detail = Skip, "not checked: which variant runs here needs the privileges above"
			return it
		}
	}
	var absent []string
	for _, tp := range l.Tracepoints {
		if missing[tp] != nil {
			absent = append(absent, tp)
		}
	}
	tp := "tracepoint variant (" + strings.Join(l.Tracepoints, ", ") + "): runs"
	if len(absent) > 0 {
		tp = "tracepoint variant: cannot run, no " + strings.Join(absent, ", ")
	}
	kp := "kprobe variant (" + strings.Join(l.Kprobes, ", ") + "): refused, no kprobes"
	if kprobes {
		kp = "kprobe variant (" + strings.Join(l.Kprobes, ", ") + "): runs with --obj"
	}
	it.Detail = tp + "; " + kp
	switch {
	case len(absent) > 0 && !kprobes:
		it.Level, it.Fix = Fail, "a kernel with the tracepoints above, or with kprobes"
	case len(absent) > 0:
		it.Level, it.Fix = Warn, fmt.Sprintf("only a kprobe object of yours runs here: `sudo xdplab up %s --obj FILE.o`", l.Name)
	}
	return it
}

// tracefs checks that tracefs is mounted, and mounts it when mount is set.
func tracefs(mount bool) Item {
	it := Item{Name: "tracefs", Level: OK, Detail: "mounted at " + tracing.Dir}
	if tracing.Mounted() {
		return it
	}
	it.Fix = "sudo mount -t tracefs tracefs " + tracing.Dir + " (or run `sudo xdplab doctor`, which mounts it)"
	if !mount || os.Geteuid() != 0 {
		it.Level, it.Detail = Fail, "not mounted at "+tracing.Dir+": the tracing labs (tracepoints, the trace) need it"
		return it
	}
	if err := tracing.Mount(); err != nil {
		it.Level, it.Detail = Fail, fmt.Sprintf("not mounted, and mounting failed: %v", err)
		return it
	}
	it.Detail = "was not mounted: mounted it at " + tracing.Dir
	return it
}
