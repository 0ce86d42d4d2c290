// Package xdpexception counts, by action, the packets the kernel reports through the xdp:xdp_exception tracepoint for one XDP program: XDP_ABORTED, an action the kernel does not know, or an XDP_TX a driver could not send.
package xdpexception

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// XDP actions, the tracepoint's act field.
const (
	Aborted  = 0
	Drop     = 1
	Pass     = 2
	TX       = 3
	Redirect = 4
	// Unknown stands for every action past XDP_REDIRECT: the program
	// returned a value that is no XDP action.
	Unknown = 5
)

var actionNames = [...]string{"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT", "an unknown action"}

// ActionName is the kernel's name of an action slot: XDP_ABORTED.
func ActionName(slot uint32) string {
	if int(slot) < len(actionNames) {
		return actionNames[slot]
	}
	return fmt.Sprintf("action %d", slot)
}

// Offsets of the tracepoint's fields in its context, as
// /sys/kernel/tracing/events/xdp/xdp_exception/format gives them (the
// first 8 bytes are the common fields of every trace event). They are
// part of the kernel's ABI for this event.
const (
	offProgID = 8
	offAct    = 12
)

// ErrNoTracepoint wraps the reason the tracepoint could not be attached
// (tracefs not mounted, say): the caller cannot witness exceptions, which
// is no fault of the program it grades.
var ErrNoTracepoint = errors.New("cannot watch the xdp:xdp_exception tracepoint")

// Watcher counts the exceptions of one program while it is open.
type Watcher struct {
	counts *ebpf.Map
	prog   *ebpf.Program
	link   link.Link
}

// Watch starts counting the exceptions of the XDP program with this id.
// Nothing outlives the watcher: the tracepoint program is attached through
// a perf event that closes with it (or with the process).
func Watch(progID ebpf.ProgramID) (*Watcher, error) {
	counts, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: "xdp_exceptions", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: Unknown + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("exception counters: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "xdp_exceptions", Type: ebpf.TracePoint, License: "GPL",
		Instructions: program(counts.FD(), uint32(progID)),
	})
	if err != nil {
		counts.Close()
		return nil, fmt.Errorf("exception counting program: %w", err)
	}
	l, err := link.Tracepoint("xdp", "xdp_exception", prog, nil)
	if err != nil {
		prog.Close()
		counts.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoTracepoint, err)
	}
	return &Watcher{counts: counts, prog: prog, link: l}, nil
}

// program counts an event in slot act (Unknown past XDP_REDIRECT) when it
// comes from the program with the given id.
func program(countsFD int, progID uint32) asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, offProgID, asm.Word),
		asm.JNE.Imm(asm.R2, int32(progID), "out"),
		asm.LoadMem(asm.R2, asm.R1, offAct, asm.Word),
		asm.JLE.Imm(asm.R2, Redirect, "store"),
		asm.Mov.Imm(asm.R2, Unknown),
		asm.StoreMem(asm.RFP, -4, asm.R2, asm.Word).WithSymbol("store"),
		asm.LoadMapPtr(asm.R1, countsFD),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}

// Counts are exceptions by action slot; a slot that is absent counted none.
type Counts map[uint32]uint64

// Counts reads what was counted since Watch.
func (w *Watcher) Counts() (Counts, error) {
	out := Counts{}
	for slot := uint32(0); slot <= Unknown; slot++ {
		var n uint64
		if err := w.counts.Lookup(slot, &n); err != nil {
			return nil, fmt.Errorf("read exception counter %d: %w", slot, err)
		}
		if n > 0 {
			out[slot] = n
		}
	}
	return out, nil
}

// Sub is what was counted since before.
func (c Counts) Sub(before Counts) Counts {
	out := Counts{}
	for k, v := range c {
		if v > before[k] {
			out[k] = v - before[k]
		}
	}
	return out
}

// Add is the sum of two counts, e.g. of several phases.
func (c Counts) Add(o Counts) Counts {
	out := Counts{}
	for k, v := range c {
		out[k] += v
	}
	for k, v := range o {
		out[k] += v
	}
	return out
}

// Total is every exception counted.
func (c Counts) Total() uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// String is "3 XDP_ABORTED, 1 XDP_TX", or "none".
func (c Counts) String() string {
	var parts []string
	for slot := uint32(0); slot <= Unknown; slot++ {
		if n := c[slot]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, ActionName(slot)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Close stops counting.
func (w *Watcher) Close() error {
	return errors.Join(w.link.Close(), w.prog.Close(), w.counts.Close())
}
