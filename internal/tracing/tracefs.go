// Package tracing reads what the kernel's tracing facilities offer (tracefs, tracepoints, kprobes) and keeps trace buffers of xdplab's own.
package tracing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Dir is where tracefs is mounted: the kernel creates the directory for it,
// and the tracing tools look there first.
const Dir = "/sys/kernel/tracing"

// tracefsMagic is TRACEFS_MAGIC, tracefs' statfs type.
const tracefsMagic = 0x74726163

// ErrNoTracefs marks a machine where tracefs is not mounted at Dir: no
// tracepoint can be found or attached, and no trace read.
var ErrNoTracefs = errors.New("tracefs not mounted")

// MountFix is the advice for a machine without tracefs.
const MountFix = "run `sudo xdplab doctor` (it mounts it) or `sudo mount -t tracefs tracefs " + Dir + "`"

// Mounted reports whether tracefs is mounted at Dir.
func Mounted() bool {
	var st unix.Statfs_t
	return unix.Statfs(Dir, &st) == nil && st.Type == tracefsMagic
}

// Need returns nil when tracefs is mounted, else an error that wraps
// ErrNoTracefs, says what needs it and how to mount it.
func Need(what string) error {
	if Mounted() {
		return nil
	}
	return fmt.Errorf("%w at %s: %s needs it; %s", ErrNoTracefs, Dir, what, MountFix)
}

// Mount mounts tracefs at Dir, as the kernel's documentation and
// systemd do; a machine that booted without it (a container, a minimal
// init) has the directory but nothing on it.
func Mount() error {
	if err := unix.Mount("tracefs", Dir, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs at %s: %w", Dir, err)
	}
	return nil
}

// Tracepoint reports whether the kernel has the tracepoint group/name
// (tracefs must be mounted to tell).
func Tracepoint(group, name string) error {
	if err := Need("finding tracepoint " + group + "/" + name); err != nil {
		return err
	}
	_, err := os.Stat(filepath.Join(Dir, "events", group, name, "id"))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("this kernel has no tracepoint %s/%s (%s/events/%s/ lists its tracepoints of that group): %w",
			group, name, Dir, group, os.ErrNotExist)
	}
	return err
}

// kprobePMU is the perf event source that attaches kprobes without tracefs
// (Linux 4.17 and later).
const kprobePMU = "/sys/bus/event_source/devices/kprobe"

// Kprobes says whether this kernel can attach kprobes, through the kprobe
// PMU or tracefs' kprobe_events, and how it can tell: what it found, or
// why there are none.
func Kprobes() (ok bool, detail string) {
	if _, err := os.Stat(kprobePMU); err == nil {
		return true, "kprobe PMU " + kprobePMU
	}
	events := filepath.Join(Dir, "kprobe_events")
	if _, err := os.Stat(events); err == nil {
		return true, events
	}
	if !Mounted() {
		return false, fmt.Sprintf("no kprobe PMU (%s), and tracefs is not mounted to look for %s", kprobePMU, events)
	}
	return false, fmt.Sprintf("no kprobe PMU (%s) and no %s: the kernel was built without CONFIG_KPROBE_EVENTS", kprobePMU, events)
}
