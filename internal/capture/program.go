package capture

import (
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/net/bpf"

	"github.com/xdplab/xdplab/internal/filter"
)

// Snaplen is the most bytes of a packet a capture keeps. A perf sample's size
// field is 16 bits: the packet, our metadata and the record header must fit
// in 64 KiB, so this is a little less (and a multiple of 8).
const Snaplen = 0xffff - 63

// meta is what a capture program sends before the packet bytes in each perf
// sample. The layout is shared with the program built in captureProgram.
type meta struct {
	Action uint32 // XDP action, or Entry
	Len    uint32 // length of the frame on the wire
	CapLen uint32 // bytes of it that follow meta (the rest of a sample is padding)
	_      uint32
	Ktime  uint64 // bpf_ktime_get_ns: CLOCK_MONOTONIC
}

const metaSize = 24

func parseMeta(b []byte) (meta, bool) {
	if len(b) < metaSize {
		return meta{}, false
	}
	return meta{
		Action: binary.NativeEndian.Uint32(b[0:]),
		Len:    binary.NativeEndian.Uint32(b[4:]),
		CapLen: binary.NativeEndian.Uint32(b[8:]),
		Ktime:  binary.NativeEndian.Uint64(b[16:]),
	}, true
}

// counters are what the capture programs count per action, in a
// PERCPU_ARRAY indexed by action (user space sums the CPUs): packets seen,
// packets the filter kept, packets it did not keep, and kept packets that did
// not fit in the perf ring (bpf_perf_event_output failed). Received =
// Matched + Filtered always holds.
type counters struct {
	Received, Matched, Filtered, Lost uint64
}

// Offsets of the counters fields in the map value.
const (
	offReceived = 0
	offMatched  = 8
	offFiltered = 16
	offLost     = 24
	countersLen = 32
)

// Stack layout of a capture program (offsets from R10). The translated
// filter uses the filter.StackSize bytes below stackReserved.
const (
	stackCounters = -8  // spilled pointer to this action's counters
	stackMeta     = -40 // meta, 24 bytes: -40..-17
	stackReserved = 40
)

// bpfFCurrentCPU is BPF_F_CURRENT_CPU: write to this CPU's perf ring.
const bpfFCurrentCPU = 0xffffffff

// programMaps are the file descriptors of the maps a capture program uses.
type programMaps struct {
	counters int // PERCPU_ARRAY of counters, by action
	events   int // PERF_EVENT_ARRAY
	// next is the one-slot PROG_ARRAY a front program tail-calls the
	// original program through; 0 for a program in a hook slot.
	next int
}

// captureProgram builds the program that records packets for one action:
//
//  1. count the packet as received (and note the time: as early as possible);
//  2. run the translated tcpdump filter on it;
//  3. if the filter keeps it, count it as matched and send meta plus the
//     first min(filter result, length) bytes to the perf ring, counting a
//     failure as lost; otherwise count it as filtered;
//  4. then the tail: for a hook slot, return the action unchanged, since a
//     tail call never returns to the program that decided it; in front of a
//     program (maps.next set), tail-call that program.
//
// The cBPF program's return value is the number of bytes to keep (snaplen
// when it matches, 0 when not), as in tcpdump.
func captureProgram(name string, action Action, insns []bpf.Instruction, maps programMaps) (*ebpf.ProgramSpec, error) {
	block, err := filter.Translate(insns, filter.Options{
		ResultLabel: "filter_result",
		LabelPrefix: "filter",
		StackOffset: stackReserved,
	})
	if err != nil {
		return nil, fmt.Errorf("translate filter: %w", err)
	}
	ctx := filter.CtxReg
	prog := asm.Instructions{
		asm.Mov.Reg(ctx, asm.R1),
		asm.StoreImm(asm.R10, stackMeta, int64(action), asm.Word),
		asm.StoreImm(asm.R10, stackMeta+12, 0, asm.Word),
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.R10, stackMeta+16, asm.R0, asm.DWord),
		// counters[action]: meta.action doubles as the key.
		asm.LoadMapPtr(asm.R1, maps.counters),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, stackMeta),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "tail"), // an array lookup in range cannot fail; the verifier wants the check
	}
	prog = append(prog, increment(asm.R0, offReceived)...)
	prog = append(prog, asm.StoreMem(asm.R10, stackCounters, asm.R0, asm.DWord))
	prog = append(prog, block...)
	prog = append(prog,
		// R0 = the filter's result; R7 = counters again (the block used R7).
		asm.LoadMem(asm.R7, asm.R10, stackCounters, asm.DWord).WithSymbol("filter_result"),
		asm.JNE.Imm(asm.R0, 0, "matched"),
	)
	prog = append(prog, increment(asm.R7, offFiltered)...)
	prog = append(prog, asm.Ja.Label("tail"))
	matched := increment(asm.R7, offMatched)
	matched[0] = matched[0].WithSymbol("matched")
	prog = append(prog, matched...)
	prog = append(prog,
		// meta.len = data_end - data
		asm.LoadMem(asm.R2, ctx, 4, asm.Word),
		asm.LoadMem(asm.R3, ctx, 0, asm.Word),
		asm.Sub.Reg(asm.R2, asm.R3),
		asm.StoreMem(asm.R10, stackMeta+4, asm.R2, asm.Word),
		// meta.caplen = min(result, len)
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.JGE.Reg(asm.R0, asm.R2, "caplen"),
		asm.Mov.Reg(asm.R4, asm.R0),
		asm.StoreMem(asm.R10, stackMeta+8, asm.R4, asm.Word).WithSymbol("caplen"),
		// flags = caplen << 32 | BPF_F_CURRENT_CPU: the helper appends that
		// many packet bytes after meta (the XDP flavour of the helper).
		asm.LSh.Imm(asm.R4, 32),
		asm.LoadImm(asm.R3, bpfFCurrentCPU, asm.DWord),
		asm.Or.Reg(asm.R3, asm.R4),
		asm.Mov.Reg(asm.R1, ctx),
		asm.LoadMapPtr(asm.R2, maps.events),
		asm.Mov.Reg(asm.R4, asm.R10),
		asm.Add.Imm(asm.R4, stackMeta),
		asm.Mov.Imm(asm.R5, metaSize),
		asm.FnPerfEventOutput.Call(),
		asm.JEq.Imm(asm.R0, 0, "tail"),
	)
	prog = append(prog, increment(asm.R7, offLost)...)

	if maps.next == 0 {
		prog = append(prog,
			asm.Mov.Imm(asm.R0, int32(action)).WithSymbol("tail"),
			asm.Return(),
		)
	} else {
		prog = append(prog,
			asm.Mov.Reg(asm.R1, ctx).WithSymbol("tail"),
			asm.LoadMapPtr(asm.R2, maps.next),
			asm.Mov.Imm(asm.R3, 0),
			asm.FnTailCall.Call(),
			// Only reached when next_prog is empty: behave as if no
			// program were attached.
			asm.Mov.Imm(asm.R0, int32(Pass)),
			asm.Return(),
		)
	}
	return &ebpf.ProgramSpec{
		Name:         name,
		Type:         ebpf.XDP,
		AttachType:   ebpf.AttachXDP,
		Instructions: prog,
		// bpf_perf_event_output is GPL-only.
		License: "GPL",
	}, nil
}

// increment adds one to the u64 at off in the map value ptr points to. A
// per-CPU value needs no atomic add: only this CPU writes it.
func increment(ptr asm.Register, off int16) asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R1, ptr, off, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(ptr, off, asm.R1, asm.DWord),
	}
}
