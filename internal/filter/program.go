package filter

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/net/bpf"
)

// XDP actions ProgramSpec returns.
const (
	xdpDrop = 1
	xdpPass = 2
)

// ProgramSpec wraps a translated cBPF program into a complete XDP program,
// "xdplab_filter", that passes the frames the filter matches (return value
// != 0) and drops the rest. It is the smallest useful host for a block, for
// trying a filter with BPF_PROG_TEST_RUN or on a link; the capture hook
// builds its own program around Translate.
func ProgramSpec(insns []bpf.Instruction) (*ebpf.ProgramSpec, error) {
	const result = "filter_result"
	block, err := Translate(insns, Options{ResultLabel: result})
	if err != nil {
		return nil, err
	}

	prog := asm.Instructions{asm.Mov.Reg(CtxReg, asm.R1)}
	prog = append(prog, block...)
	prog = append(prog,
		asm.Mov.Imm(asm.R1, xdpDrop).WithSymbol(result),
		asm.JEq.Imm(ResultReg, 0, "filter_out"),
		asm.Mov.Imm(asm.R1, xdpPass),
		asm.Mov.Reg(asm.R0, asm.R1).WithSymbol("filter_out"),
		asm.Return(),
	)
	return &ebpf.ProgramSpec{
		Name:         "xdplab_filter",
		Type:         ebpf.XDP,
		Instructions: prog,
		// No GPL-only helpers are called; a GPL-compatible license anyway,
		// so a caller adding one (perf output, say) is not refused.
		License: "Dual MIT/GPL",
	}, nil
}
