package filter

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/net/bpf"
)

// ErrInvalidProgram is wrapped by every error Translate returns for a cBPF
// program it cannot translate (bad jump, bad scratch index, no final return,
// an instruction or extension XDP has no equivalent for).
var ErrInvalidProgram = errors.New("invalid cbpf program")

// The register contract of a translated block.
const (
	// CtxReg holds the xdp_md pointer on entry to the block and still holds
	// it at Options.ResultLabel. R6 because it is callee-saved: the helper
	// calls inside the block clobber R1-R5.
	CtxReg = asm.R6
	// ResultReg holds the cBPF return value (zero-extended to 64 bits) at
	// Options.ResultLabel.
	ResultReg = asm.R0

	// StackSize is the number of stack bytes the block uses below
	// R10-Options.StackOffset: 16 four-byte scratch words M[0..15] and an
	// eight-byte buffer bpf_xdp_load_bytes copies packet bytes into.
	StackSize = 16*4 + 8

	// The cBPF registers live in callee-saved registers so that they survive
	// the helper calls; R9 is left unused.
	regA = asm.R7
	regX = asm.R8
)

// Options says where a translated block fits in the caller's program.
type Options struct {
	// ResultLabel is the symbol of the instruction the caller places right
	// after the block; every path through the block ends by jumping there
	// with the cBPF return value in R0 (0 means "no match"). Required.
	ResultLabel string
	// LabelPrefix prefixes the block's internal symbols ("<prefix>_<n>",
	// "<prefix>_<n>_big", "<prefix>_reject"), so several blocks can share
	// one program; the caller's own symbols must not have those forms.
	// Default "filter".
	LabelPrefix string
	// StackOffset is the number of bytes just below R10 that belong to the
	// caller and that the block leaves alone; the block uses the StackSize
	// bytes below them. A multiple of 8 with StackOffset+StackSize <= 512.
	StackOffset int
}

// Translate translates a classic BPF program into a block of eBPF
// instructions for an XDP program.
//
// Contract: on entry CtxReg (R6) holds the xdp_md pointer. The block may
// clobber R0-R5, R7-R9 and the stack bytes [R10-StackOffset-StackSize,
// R10-StackOffset); it leaves R6 alone. It never falls off its end: every
// path jumps to opts.ResultLabel with the program's return value in R0,
// exactly as the cBPF program would return it (not clamped to the packet
// length). A packet load outside the packet, and a division or modulo by
// zero, return 0, as in the kernel's and libpcap's cBPF interpreters.
//
// Instructions may be the typed instructions of golang.org/x/net/bpf or raw
// ones; of the cBPF extensions only "ld #len"/"ldx #len" exist in XDP.
// Unreachable instructions are dropped, since the eBPF verifier rejects
// unreachable code.
func Translate(insns []bpf.Instruction, opts Options) (asm.Instructions, error) {
	if opts.ResultLabel == "" {
		return nil, errors.New("translate cbpf: no result label")
	}
	if opts.LabelPrefix == "" {
		opts.LabelPrefix = "filter"
	}
	if opts.StackOffset < 0 || opts.StackOffset%8 != 0 || opts.StackOffset+StackSize > 512 {
		return nil, fmt.Errorf("translate cbpf: stack offset %d: need a multiple of 8 in [0, %d]", opts.StackOffset, 512-StackSize)
	}

	prog, err := normalize(insns)
	if err != nil {
		return nil, err
	}

	if ownLabel(opts.LabelPrefix, opts.ResultLabel) {
		return nil, fmt.Errorf("translate cbpf: result label %q is one of the block's own labels", opts.ResultLabel)
	}

	t := translator{opts: opts, prog: prog}
	out := t.translate()
	// Jumps inside the block and to the result label are at most its
	// length long; eBPF jump offsets are 16-bit, and cilium/ebpf would
	// truncate a longer one silently.
	if len(out) > math.MaxInt16 {
		return nil, fmt.Errorf("translate cbpf: %w: %d cbpf instructions make %d ebpf ones, more than a jump can span",
			ErrInvalidProgram, len(insns), len(out))
	}
	return out, nil
}

// ownLabel reports whether name has the form of a label the block defines:
// <prefix>_reject, <prefix>_<n>, <prefix>_<n>_big.
func ownLabel(prefix, name string) bool {
	rest, ok := strings.CutPrefix(name, prefix+"_")
	if !ok {
		return false
	}
	if rest == "reject" {
		return true
	}
	_, err := strconv.Atoi(strings.TrimSuffix(rest, "_big"))
	return err == nil
}

// ldxLen is "ldx #len", which x/net/bpf has no type for.
type ldxLen struct{}

func (ldxLen) Assemble() (bpf.RawInstruction, error) { return bpf.RawInstruction{Op: opLdxLen}, nil }

func (ldxLen) String() string { return "ldx #len" }

// normalize decodes raw instructions and checks what the kernel's cBPF
// checker checks, so every program Translate accepts is one the kernel would
// run: jumps land inside the program, scratch indices are 0..15, the last
// instruction returns.
func normalize(insns []bpf.Instruction) ([]bpf.Instruction, error) {
	if len(insns) == 0 {
		return nil, fmt.Errorf("translate cbpf: %w: empty program", ErrInvalidProgram)
	}
	prog := make([]bpf.Instruction, len(insns))
	for i, ins := range insns {
		bad := func(why string) error {
			return fmt.Errorf("translate cbpf: %w: instruction %d (%v): %s", ErrInvalidProgram, i, ins, why)
		}
		if ri, ok := ins.(bpf.RawInstruction); ok {
			if ri.Op == opLdxLen {
				ins = ldxLen{}
			} else {
				ins = disassemble(ri)
			}
		}
		prog[i] = ins

		// The furthest a jump may go: the last instruction.
		room := uint64(len(insns) - 1 - i)
		switch ins := ins.(type) {
		case bpf.Jump:
			if uint64(ins.Skip) >= room {
				return nil, bad("jump past the end")
			}
		case bpf.JumpIf:
			if uint64(ins.SkipTrue) >= room || uint64(ins.SkipFalse) >= room {
				return nil, bad("jump past the end")
			}
			if !validCond(ins.Cond) {
				return nil, bad("unknown jump condition")
			}
		case bpf.JumpIfX:
			if uint64(ins.SkipTrue) >= room || uint64(ins.SkipFalse) >= room {
				return nil, bad("jump past the end")
			}
			if !validCond(ins.Cond) {
				return nil, bad("unknown jump condition")
			}
		case bpf.ALUOpConstant:
			if _, ok := aluOps[ins.Op]; !ok {
				return nil, bad("unknown alu operation")
			}
		case bpf.ALUOpX:
			if _, ok := aluOps[ins.Op]; !ok {
				return nil, bad("unknown alu operation")
			}
		case bpf.LoadScratch:
			if ins.N < 0 || ins.N > 15 {
				return nil, bad("scratch index out of range")
			}
		case bpf.StoreScratch:
			if ins.N < 0 || ins.N > 15 {
				return nil, bad("scratch index out of range")
			}
		case bpf.LoadAbsolute:
			if !validSize(ins.Size) {
				return nil, bad("bad load size")
			}
		case bpf.LoadIndirect:
			if !validSize(ins.Size) {
				return nil, bad("bad load size")
			}
		case bpf.LoadExtension:
			if ins.Num != bpf.ExtLen {
				return nil, bad("extension has no XDP equivalent")
			}
		case bpf.NegateA, bpf.LoadConstant, bpf.LoadMemShift,
			bpf.RetA, bpf.RetConstant, bpf.TAX, bpf.TXA, ldxLen:
		default:
			return nil, bad("unsupported instruction")
		}
	}
	switch prog[len(prog)-1].(type) {
	case bpf.RetA, bpf.RetConstant:
	default:
		return nil, fmt.Errorf("translate cbpf: %w: last instruction is not a return", ErrInvalidProgram)
	}
	return prog, nil
}

func validSize(size int) bool { return size == 1 || size == 2 || size == 4 }

func validCond(c bpf.JumpTest) bool {
	_, ok := jumpOps[c]
	return ok || c == bpf.JumpBitsNotSet
}

type translator struct {
	opts Options
	prog []bpf.Instruction
	out  asm.Instructions
	// pending is the symbol the next emitted instruction carries.
	pending string
	// rejects is whether any instruction jumps to the reject label.
	rejects bool
}

func (t *translator) label(i int) string { return t.opts.LabelPrefix + "_" + strconv.Itoa(i) }

func (t *translator) rejectLabel() string {
	t.rejects = true
	return t.opts.LabelPrefix + "_reject"
}

func (t *translator) emit(insns ...asm.Instruction) {
	for _, ins := range insns {
		if t.pending != "" {
			ins = ins.WithSymbol(t.pending)
			t.pending = ""
		}
		t.out = append(t.out, ins)
	}
}

// Stack layout below R10-StackOffset: the load buffer first (8-byte
// aligned, as the helper's writes and our loads need), then M[0..15].
func (t *translator) bufOff() int16 { return int16(-t.opts.StackOffset - 8) }

func (t *translator) scratchOff(n int) int16 { return int16(-t.opts.StackOffset - StackSize + 4*n) }

// alwaysRejects reports whether an instruction fails whatever the packet:
// a load at an offset no frame reaches, a division by constant 0. It is
// translated to a jump to the reject label, so what follows it is
// unreachable from it. (Offsets from 0xfff00000 up are the kernel's
// SKF_NET_OFF/SKF_LL_OFF pseudo-offsets into an skb; XDP has no skb, so
// here they are just offsets past the end of any frame.)
func alwaysRejects(ins bpf.Instruction) bool {
	switch ins := ins.(type) {
	case bpf.LoadAbsolute:
		return ins.Off > maxLoadOffset
	case bpf.LoadIndirect:
		return ins.Off > maxLoadOffset
	case bpf.LoadMemShift:
		return ins.Off > maxLoadOffset
	case bpf.ALUOpConstant:
		return (ins.Op == bpf.ALUOpDiv || ins.Op == bpf.ALUOpMod) && ins.Val == 0
	}
	return false
}

// reachable marks the instructions some path from the first one reaches.
func reachable(prog []bpf.Instruction) []bool {
	seen := make([]bool, len(prog))
	seen[0] = true
	for i, ins := range prog {
		if !seen[i] {
			continue
		}
		if alwaysRejects(ins) {
			continue
		}
		switch ins := ins.(type) {
		case bpf.RetA, bpf.RetConstant:
		case bpf.Jump:
			seen[i+1+int(ins.Skip)] = true
		case bpf.JumpIf:
			seen[i+1+int(ins.SkipTrue)] = true
			seen[i+1+int(ins.SkipFalse)] = true
		case bpf.JumpIfX:
			seen[i+1+int(ins.SkipTrue)] = true
			seen[i+1+int(ins.SkipFalse)] = true
		default:
			seen[i+1] = true
		}
	}
	return seen
}

func (t *translator) translate() asm.Instructions {
	live := reachable(t.prog)

	// The cBPF machine starts with A = X = 0 and, in x/net/bpf's VM, zeroed
	// scratch memory. The kernel's cBPF checker instead refuses programs
	// that read M[n] before writing it; zeroing what is read keeps both
	// kinds of program well defined and keeps the verifier from seeing a
	// read of uninitialised stack.
	t.emit(asm.Mov.Imm32(regA, 0), asm.Mov.Imm32(regX, 0))
	var zeroed [16]bool
	for i, ins := range t.prog {
		if ls, ok := ins.(bpf.LoadScratch); ok && live[i] && !zeroed[ls.N] {
			zeroed[ls.N] = true
			t.emit(asm.StoreImm(asm.R10, t.scratchOff(ls.N), 0, asm.Word))
		}
	}

	for i, ins := range t.prog {
		if !live[i] {
			continue
		}
		t.pending = t.label(i)
		if alwaysRejects(ins) {
			t.emit(asm.Ja.Label(t.rejectLabel()))
			continue
		}
		t.instruction(i, ins)
	}

	if t.rejects {
		t.pending = t.opts.LabelPrefix + "_reject"
		t.emit(asm.Mov.Imm32(asm.R0, 0), asm.Ja.Label(t.opts.ResultLabel))
	}
	return t.out
}

// reg maps a cBPF register to the eBPF register that holds it.
func reg(r bpf.Register) asm.Register {
	if r == bpf.RegX {
		return regX
	}
	return regA
}

func (t *translator) instruction(i int, ins bpf.Instruction) {
	switch ins := ins.(type) {
	case bpf.LoadConstant:
		t.emit(asm.Mov.Imm32(reg(ins.Dst), int32(ins.Val)))
	case bpf.LoadScratch:
		t.emit(asm.LoadMem(reg(ins.Dst), asm.R10, t.scratchOff(ins.N), asm.Word))
	case bpf.StoreScratch:
		t.emit(asm.StoreMem(asm.R10, t.scratchOff(ins.N), reg(ins.Src), asm.Word))
	case bpf.LoadExtension: // ExtLen, the only one normalize lets through
		t.packetLen(regA)
	case ldxLen:
		t.packetLen(regX)
	case bpf.LoadAbsolute:
		t.emit(asm.Mov.Imm32(asm.R2, int32(ins.Off)))
		t.load(regA, ins.Size)
	case bpf.LoadIndirect:
		// X+K in 64 bits cannot wrap, unlike the helper's u32 offset
		// argument; anything beyond maxLoadOffset fails the load, as the
		// helper would.
		t.emit(
			asm.Mov.Reg(asm.R2, regX),
			asm.Add.Imm(asm.R2, int32(ins.Off)),
			asm.JGT.Imm(asm.R2, maxLoadOffset, t.rejectLabel()),
		)
		t.load(regA, ins.Size)
	case bpf.LoadMemShift:
		t.emit(asm.Mov.Imm32(asm.R2, int32(ins.Off)))
		t.load(regX, 1)
		t.emit(asm.And.Imm32(regX, 0xf), asm.LSh.Imm32(regX, 2))
	case bpf.ALUOpConstant:
		t.aluConstant(ins.Op, ins.Val)
	case bpf.ALUOpX:
		t.aluX(i, ins.Op)
	case bpf.NegateA:
		// BPF_NEG takes no operand; the kernel insists the source bit is K.
		t.emit(asm.Instruction{OpCode: asm.Neg.Op32(asm.ImmSource), Dst: regA})
	case bpf.TAX:
		t.emit(asm.Mov.Reg32(regX, regA))
	case bpf.TXA:
		t.emit(asm.Mov.Reg32(regA, regX))
	case bpf.Jump:
		t.emit(asm.Ja.Label(t.label(i + 1 + int(ins.Skip))))
	case bpf.JumpIf:
		t.jump(i, ins.Cond, ins.SkipTrue, ins.SkipFalse, func(op asm.JumpOp, label string) asm.Instruction {
			return op.Imm32(regA, int32(ins.Val), label)
		})
	case bpf.JumpIfX:
		t.jump(i, ins.Cond, ins.SkipTrue, ins.SkipFalse, func(op asm.JumpOp, label string) asm.Instruction {
			return op.Reg32(regA, regX, label)
		})
	case bpf.RetConstant:
		t.emit(asm.Mov.Imm32(asm.R0, int32(ins.Val)), asm.Ja.Label(t.opts.ResultLabel))
	case bpf.RetA:
		t.emit(asm.Mov.Reg32(asm.R0, regA), asm.Ja.Label(t.opts.ResultLabel))
	default:
		panic(fmt.Sprintf("filter: normalize let %T through", ins))
	}
}

// maxLoadOffset is the largest offset bpf_xdp_load_bytes accepts (it
// returns -EFAULT above 0xffff); no XDP frame is that long anyway.
const maxLoadOffset = 0xffff

// load loads size bytes at the packet offset in R2 into dst, big-endian as
// cBPF defines it, or rejects the packet when they are not all inside it.
//
// bpf_xdp_load_bytes rather than direct packet access: the helper does the
// bounds check against the real frame length, for any offset, so the
// verifier need not track packet-pointer ranges through code whose offsets
// come from the packet itself (ldx msh; ld ind), which it cannot prove
// bounded.
func (t *translator) load(dst asm.Register, size int) {
	sizes := map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word}
	t.emit(
		asm.Mov.Reg(asm.R1, CtxReg),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, int32(t.bufOff())),
		asm.Mov.Imm(asm.R4, int32(size)),
		asm.FnXdpLoadBytes.Call(),
		asm.JNE.Imm(asm.R0, 0, t.rejectLabel()),
		asm.LoadMem(dst, asm.R10, t.bufOff(), sizes[size]),
	)
	if size > 1 {
		// The buffer holds network byte order; HostTo(BE) swaps on a
		// little-endian host and, either way, zero-extends.
		t.emit(asm.HostTo(asm.BE, dst, sizes[size]))
	}
}

// packetLen sets dst to data_end - data, the frame length cBPF's "len" is.
// The subtraction is 64-bit because the verifier forbids 32-bit arithmetic
// on pointers; the final 32-bit move keeps dst a 32-bit cBPF value.
func (t *translator) packetLen(dst asm.Register) {
	t.emit(
		asm.LoadMem(asm.R0, CtxReg, 4, asm.Word), // xdp_md.data_end
		asm.LoadMem(asm.R1, CtxReg, 0, asm.Word), // xdp_md.data
		asm.Sub.Reg(asm.R0, asm.R1),
		asm.Mov.Reg32(dst, asm.R0),
	)
}

// aluOps maps cBPF ALU operations to eBPF ones. All are emitted as 32-bit
// (ALU32) operations: cBPF's A is 32 bits wide and its arithmetic wraps at
// 2^32, which ALU32 does for free by zeroing the upper half after every
// operation (and its div/mod are unsigned, as cBPF's are).
var aluOps = map[bpf.ALUOp]asm.ALUOp{
	bpf.ALUOpAdd:        asm.Add,
	bpf.ALUOpSub:        asm.Sub,
	bpf.ALUOpMul:        asm.Mul,
	bpf.ALUOpDiv:        asm.Div,
	bpf.ALUOpOr:         asm.Or,
	bpf.ALUOpAnd:        asm.And,
	bpf.ALUOpShiftLeft:  asm.LSh,
	bpf.ALUOpShiftRight: asm.RSh,
	bpf.ALUOpMod:        asm.Mod,
	bpf.ALUOpXor:        asm.Xor,
}

func (t *translator) aluConstant(op bpf.ALUOp, k uint32) {
	eop := aluOps[op]
	// Division by constant 0 never gets here (alwaysRejects): the kernel
	// refuses such a program outright; running it, the only sensible result
	// is the one a division by X == 0 gives.
	switch {
	case (op == bpf.ALUOpShiftLeft || op == bpf.ALUOpShiftRight) && k >= 32:
		// eBPF leaves shifts by >= 32 undefined (x86 masks the count);
		// libpcap's interpreter and x/net/bpf shift everything out.
		t.emit(asm.Mov.Imm32(regA, 0))
	default:
		t.emit(eop.Imm32(regA, int32(k)))
	}
}

func (t *translator) aluX(i int, op bpf.ALUOp) {
	eop := aluOps[op]
	switch op {
	case bpf.ALUOpDiv, bpf.ALUOpMod:
		// eBPF defines x/0 = 0 and x%0 = x; cBPF aborts with "return 0".
		t.emit(
			asm.JEq.Imm32(regX, 0, t.rejectLabel()),
			eop.Reg32(regA, regX),
		)
	case bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight:
		// As for the constant form: a count >= 32 shifts everything out.
		big := t.label(i) + "_big"
		t.emit(
			asm.JGE.Imm32(regX, 32, big),
			eop.Reg32(regA, regX),
			asm.Ja.Label(t.label(i+1)),
			asm.Mov.Imm32(regA, 0).WithSymbol(big),
		)
	default:
		t.emit(eop.Reg32(regA, regX))
	}
}

// jumpOps maps cBPF conditions to eBPF jumps taken when the condition holds.
// They are JMP32 jumps: cBPF compares 32-bit unsigned values, and a 64-bit
// jump would sign-extend a constant >= 2^31.
var jumpOps = map[bpf.JumpTest]asm.JumpOp{
	bpf.JumpEqual:          asm.JEq,
	bpf.JumpNotEqual:       asm.JNE,
	bpf.JumpGreaterThan:    asm.JGT,
	bpf.JumpLessThan:       asm.JLT,
	bpf.JumpGreaterOrEqual: asm.JGE,
	bpf.JumpLessOrEqual:    asm.JLE,
	bpf.JumpBitsSet:        asm.JSet,
}

func (t *translator) jump(i int, cond bpf.JumpTest, skipTrue, skipFalse uint8, cmp func(asm.JumpOp, string) asm.Instruction) {
	onTrue, onFalse := i+1+int(skipTrue), i+1+int(skipFalse)
	op := jumpOps[cond]
	if cond == bpf.JumpBitsNotSet {
		// eBPF has no "jump if no bits set": jump on the opposite.
		op = asm.JSet
		onTrue, onFalse = onFalse, onTrue
	}
	if onTrue == onFalse {
		t.emit(asm.Ja.Label(t.label(onTrue)))
		return
	}
	t.emit(cmp(op, t.label(onTrue)))
	if onFalse != i+1 {
		t.emit(asm.Ja.Label(t.label(onFalse)))
	}
}
