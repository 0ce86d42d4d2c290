package filter

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/net/bpf"
)

// The harness program returns the cBPF return value itself (the verifier
// does not restrict an XDP program's return value, and BPF_PROG_TEST_RUN
// reports it unchanged), so the kernel's answer can be compared with the VM's
// value for value, not only match/no match.
//
// It also checks the block's contract: it runs the block with a non-zero
// StackOffset and a canary in the caller's stack bytes, and uses R6 as the
// context at the result label (the verifier refuses the program if R6 is not
// the context there). A clobbered canary returns canaryBroken.
const (
	harnessStackOffset = 16
	canary             = 0x5eed1e55
	canaryBroken       = 0xdeadbeef
)

func harnessSpec(insns []bpf.Instruction) (*ebpf.ProgramSpec, error) {
	block, err := Translate(insns, Options{
		ResultLabel: "result",
		LabelPrefix: "cbpf",
		StackOffset: harnessStackOffset,
	})
	if err != nil {
		return nil, err
	}
	prog := asm.Instructions{
		asm.Mov.Reg(CtxReg, asm.R1),
		asm.Mov.Imm(asm.R1, canary),
		asm.StoreMem(asm.R10, -8, asm.R1, asm.DWord),
		asm.StoreMem(asm.R10, -16, asm.R1, asm.DWord),
	}
	prog = append(prog, block...)
	prog = append(prog,
		asm.LoadMem(asm.R2, CtxReg, 4, asm.Word).WithSymbol("result"), // ctx->data_end: R6 is still ctx
		asm.LoadMem(asm.R1, asm.R10, -8, asm.DWord),
		asm.JNE.Imm(asm.R1, canary, "broken"),
		asm.LoadMem(asm.R1, asm.R10, -16, asm.DWord),
		asm.JNE.Imm(asm.R1, canary, "broken"),
		asm.Return(),
		asm.Mov.Imm32(asm.R0, int32(-0x21524111)).WithSymbol("broken"), // 0xdeadbeef
		asm.Return(),
	)
	return &ebpf.ProgramSpec{
		Name:         "filter_harness",
		Type:         ebpf.XDP,
		Instructions: prog,
		License:      "Dual MIT/GPL",
	}, nil
}

// loadHarness loads the harness for insns; the program is closed when the
// test ends.
func loadHarness(tb testing.TB, insns []bpf.Instruction) *ebpf.Program {
	tb.Helper()
	prog, err := newHarness(insns)
	if err != nil {
		tb.Fatalf("load %v: %+v", insns, err)
	}
	tb.Cleanup(func() { prog.Close() })
	return prog
}

func newHarness(insns []bpf.Instruction) (*ebpf.Program, error) {
	spec, err := harnessSpec(insns)
	if err != nil {
		return nil, err
	}
	prog, err := ebpf.NewProgram(spec)
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) {
		return nil, fmt.Errorf("%+v", verr)
	}
	return prog, err
}

// kernelRun runs the harness on one frame with BPF_PROG_TEST_RUN.
func kernelRun(prog *ebpf.Program, pkt []byte) (uint32, error) {
	return prog.Run(&ebpf.RunOptions{Data: pkt})
}

// minKernelFrame is the shortest frame BPF_PROG_TEST_RUN accepts for XDP
// (ETH_HLEN); shorter frames are checked against the VMs only.
const minKernelFrame = 14

// maxKernelFrame is the longest frame BPF_PROG_TEST_RUN hands a non-frags XDP
// program whole on 4 KiB pages (PAGE_SIZE - XDP_PACKET_HEADROOM -
// sizeof(skb_shared_info)); longer input is silently cut to the first page.
const maxKernelFrame = 3520

// reference runs insns the way the kernel's classic BPF does. x/net/bpf's VM
// is the reference wherever it can run the program; it lacks "neg" and
// "ldx #len", and refuses a division by constant 0, so for those programs
// interpret (below) stands in, and wherever both run they must agree.
func reference(insns []bpf.Instruction, pkt []byte) (uint32, error) {
	want := interpret(insns, pkt)
	for _, ins := range insns {
		switch ins.(type) {
		case bpf.NegateA, bpf.RawInstruction:
			return want, nil
		}
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		return want, nil
	}
	got, err := vm.Run(pkt)
	if err != nil {
		return 0, fmt.Errorf("x/net/bpf vm: %w", err)
	}
	if uint32(got) != want {
		return 0, fmt.Errorf("x/net/bpf vm says %#x, test interpreter %#x", got, want)
	}
	return uint32(got), nil
}

// interpret is a plain cBPF interpreter with x/net/bpf's semantics (loads
// outside the frame, division and modulo by zero return 0; shifts by >= 32
// give 0; scratch memory starts zeroed), plus "neg" and "ldx #len".
func interpret(insns []bpf.Instruction, pkt []byte) uint32 {
	var a, x uint32
	var mem [16]uint32
	load := func(off uint64, size int) (uint32, bool) {
		if off+uint64(size) > uint64(len(pkt)) {
			return 0, false
		}
		var v uint32
		for _, b := range pkt[off : off+uint64(size)] {
			v = v<<8 | uint32(b)
		}
		return v, true
	}
	alu := func(op bpf.ALUOp, v uint32) (uint32, bool) {
		switch op {
		case bpf.ALUOpAdd:
			return a + v, true
		case bpf.ALUOpSub:
			return a - v, true
		case bpf.ALUOpMul:
			return a * v, true
		case bpf.ALUOpDiv:
			if v == 0 {
				return 0, false
			}
			return a / v, true
		case bpf.ALUOpMod:
			if v == 0 {
				return 0, false
			}
			return a % v, true
		case bpf.ALUOpOr:
			return a | v, true
		case bpf.ALUOpAnd:
			return a & v, true
		case bpf.ALUOpXor:
			return a ^ v, true
		case bpf.ALUOpShiftLeft:
			if v >= 32 {
				return 0, true
			}
			return a << v, true
		case bpf.ALUOpShiftRight:
			if v >= 32 {
				return 0, true
			}
			return a >> v, true
		}
		return a, true
	}
	cond := func(c bpf.JumpTest, v uint32) bool {
		switch c {
		case bpf.JumpEqual:
			return a == v
		case bpf.JumpNotEqual:
			return a != v
		case bpf.JumpGreaterThan:
			return a > v
		case bpf.JumpLessThan:
			return a < v
		case bpf.JumpGreaterOrEqual:
			return a >= v
		case bpf.JumpLessOrEqual:
			return a <= v
		case bpf.JumpBitsSet:
			return a&v != 0
		case bpf.JumpBitsNotSet:
			return a&v == 0
		}
		return false
	}
	set := func(r bpf.Register, v uint32) {
		if r == bpf.RegX {
			x = v
		} else {
			a = v
		}
	}
	get := func(r bpf.Register) uint32 {
		if r == bpf.RegX {
			return x
		}
		return a
	}

	for pc := 0; pc < len(insns); pc++ {
		ok := true
		ins := insns[pc]
		if ri, raw := ins.(bpf.RawInstruction); raw {
			if ri.Op == opLdxLen {
				x = uint32(len(pkt))
				continue
			}
			ins = ri.Disassemble()
		}
		switch ins := ins.(type) {
		case bpf.LoadConstant:
			set(ins.Dst, ins.Val)
		case bpf.LoadScratch:
			set(ins.Dst, mem[ins.N])
		case bpf.StoreScratch:
			mem[ins.N] = get(ins.Src)
		case bpf.LoadExtension:
			a = uint32(len(pkt))
		case bpf.LoadAbsolute:
			a, ok = load(uint64(ins.Off), ins.Size)
		case bpf.LoadIndirect:
			a, ok = load(uint64(ins.Off)+uint64(x), ins.Size)
		case bpf.LoadMemShift:
			var b uint32
			b, ok = load(uint64(ins.Off), 1)
			x = (b & 0xf) * 4
		case bpf.ALUOpConstant:
			a, ok = alu(ins.Op, ins.Val)
		case bpf.ALUOpX:
			a, ok = alu(ins.Op, x)
		case bpf.NegateA:
			a = -a
		case bpf.TAX:
			x = a
		case bpf.TXA:
			a = x
		case bpf.Jump:
			pc += int(ins.Skip)
		case bpf.JumpIf:
			if cond(ins.Cond, ins.Val) {
				pc += int(ins.SkipTrue)
			} else {
				pc += int(ins.SkipFalse)
			}
		case bpf.JumpIfX:
			if cond(ins.Cond, x) {
				pc += int(ins.SkipTrue)
			} else {
				pc += int(ins.SkipFalse)
			}
		case bpf.RetA:
			return a
		case bpf.RetConstant:
			return ins.Val
		default:
			panic(fmt.Sprintf("interpret: unexpected %T", ins))
		}
		if !ok {
			return 0
		}
	}
	return 0
}
