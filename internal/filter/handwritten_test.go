package filter

import (
	"testing"

	"golang.org/x/net/bpf"

	"github.com/xdplab/xdplab/internal/testutils"
)

// Shorthands for the hand-written programs.
type (
	ins  = bpf.Instruction
	prog = []bpf.Instruction
)

var (
	retA = bpf.RetA{}
	tax  = bpf.TAX{}
	txa  = bpf.TXA{}
	neg  = bpf.NegateA{}
	ldxl = bpf.RawInstruction{Op: opLdxLen}
)

func ret(k uint32) ins   { return bpf.RetConstant{Val: k} }
func ldA(k uint32) ins   { return bpf.LoadConstant{Dst: bpf.RegA, Val: k} }
func ldX(k uint32) ins   { return bpf.LoadConstant{Dst: bpf.RegX, Val: k} }
func ldM(n int) ins      { return bpf.LoadScratch{Dst: bpf.RegA, N: n} }
func ldxM(n int) ins     { return bpf.LoadScratch{Dst: bpf.RegX, N: n} }
func st(n int) ins       { return bpf.StoreScratch{Src: bpf.RegA, N: n} }
func stx(n int) ins      { return bpf.StoreScratch{Src: bpf.RegX, N: n} }
func ldb(off uint32) ins { return bpf.LoadAbsolute{Off: off, Size: 1} }
func ldh(off uint32) ins { return bpf.LoadAbsolute{Off: off, Size: 2} }
func ld(off uint32) ins  { return bpf.LoadAbsolute{Off: off, Size: 4} }
func ldInd(off uint32, size int) ins {
	return bpf.LoadIndirect{Off: off, Size: size}
}
func msh(off uint32) ins              { return bpf.LoadMemShift{Off: off} }
func aluK(op bpf.ALUOp, k uint32) ins { return bpf.ALUOpConstant{Op: op, Val: k} }
func aluX(op bpf.ALUOp) ins           { return bpf.ALUOpX{Op: op} }
func ja(skip uint32) ins              { return bpf.Jump{Skip: skip} }
func jK(c bpf.JumpTest, k uint32, t, f uint8) ins {
	return bpf.JumpIf{Cond: c, Val: k, SkipTrue: t, SkipFalse: f}
}
func jX(c bpf.JumpTest, t, f uint8) ins { return bpf.JumpIfX{Cond: c, SkipTrue: t, SkipFalse: f} }

var ldLen = bpf.LoadExtension{Num: bpf.ExtLen}

// handWritten covers every cBPF instruction class and the corner cases that
// differ between cBPF and a naive eBPF translation. frame indexes frames();
// want is the value the classic machine returns, worked out by hand.
const (
	icmp98 = "icmp type 8"      // ICMP echo request, 98 bytes, last byte 55
	syn60  = "tcp syn 8888"     // TCP SYN 192.168.0.3 -> .2, padded to 60 bytes
	ihl6   = "tcp syn 80 ihl 6" // TCP SYN behind 4 bytes of IP options
)

var handWritten = []struct {
	name  string
	frame string // see the constants below
	prog  prog
	want  uint32
}{
	// Returns and immediate loads.
	{"ret k", icmp98, prog{ret(0xffffffff)}, 0xffffffff},
	{"ret a", icmp98, prog{ldA(0x80000001), retA}, 0x80000001},
	{"ldx imm, txa", icmp98, prog{ldX(42), txa, retA}, 42},
	{"tax", icmp98, prog{ldA(7), tax, ldA(0), txa, retA}, 7},
	{"registers start zeroed", icmp98, prog{aluX(bpf.ALUOpAdd), retA}, 0},

	// Packet loads, big-endian.
	{"ld abs byte", syn60, prog{ldb(23), retA}, 6},
	{"ld abs half", syn60, prog{ldh(12), retA}, 0x0800},
	{"ld abs word", syn60, prog{ld(26), retA}, 0xc0a80003},
	{"ld abs last byte", icmp98, prog{ldb(97), retA}, 55},
	{"ld abs half past end", icmp98, prog{ldh(97), ret(1)}, 0},
	{"ld abs word past end", icmp98, prog{ld(95), ret(1)}, 0},
	{"ld abs offset 0x10000", icmp98, prog{ldb(0x10000), ret(1)}, 0},
	{"ld abs offset 0xffffffff", icmp98, prog{ld(0xffffffff), ret(1)}, 0},
	{"ld ind", syn60, prog{ldX(14), ldInd(12, 4), retA}, 0xc0a80003},
	{"ld ind last byte", icmp98, prog{ldX(90), ldInd(7, 1), retA}, 55},
	{"ld ind past end", icmp98, prog{ldX(90), ldInd(7, 2), ret(1)}, 0},
	{"ld ind x huge", icmp98, prog{ldX(0xffffffff), ldInd(2, 1), ret(1)}, 0},
	{"ld ind x wraps at 2^32 only in 32 bits", icmp98, prog{ldX(0xfffffff0), ldInd(0x20, 1), ret(1)}, 0},
	{"ld ind k huge", icmp98, prog{ldX(0), ldInd(0x80000000, 1), ret(1)}, 0},
	{"ldx msh ihl 5", syn60, prog{msh(14), txa, retA}, 20},
	{"ldx msh ihl 6", ihl6, prog{msh(14), txa, retA}, 24},
	{"ldx msh then ind (tcp flags)", ihl6, prog{msh(14), ldInd(27, 1), retA}, 0x02},
	{"ldx msh masks the high nibble", icmp98, prog{msh(73), txa, retA}, 60}, // payload byte 0x1f
	{"ldx msh past end", icmp98, prog{msh(98), ret(1)}, 0},
	{"ld len", icmp98, prog{ldLen, retA}, 98},
	{"ldx len", syn60, prog{ldxl, txa, retA}, 60},

	// Scratch memory.
	{"st, ldx mem", icmp98, prog{ldA(5), st(3), ldA(0), ldxM(3), txa, retA}, 5},
	{"stx, ld mem", icmp98, prog{ldX(9), stx(15), ldM(15), retA}, 9},
	{"all slots", icmp98, prog{ldA(1), st(0), ldA(2), st(15), ldM(0), tax, ldM(15), aluX(bpf.ALUOpAdd), retA}, 3},
	{"unwritten slot reads 0", icmp98, prog{ldA(5), ldM(7), retA}, 0},
	{"slots are 32-bit", icmp98, prog{ldA(0xffffffff), st(1), ldA(1), st(2), ldM(1), retA}, 0xffffffff},

	// ALU, K form, wrapping at 32 bits.
	{"add wraps", icmp98, prog{ldA(0xffffffff), aluK(bpf.ALUOpAdd, 2), retA}, 1},
	{"sub wraps", icmp98, prog{ldA(0), aluK(bpf.ALUOpSub, 1), retA}, 0xffffffff},
	{"mul wraps", icmp98, prog{ldA(0x10001), aluK(bpf.ALUOpMul, 0x10001), retA}, 0x20001},
	{"div unsigned", icmp98, prog{ldA(0xfffffffe), aluK(bpf.ALUOpDiv, 2), retA}, 0x7fffffff},
	{"div by big k", icmp98, prog{ldA(0xfffffffe), aluK(bpf.ALUOpDiv, 0x80000000), retA}, 1},
	{"mod", icmp98, prog{ldA(100), aluK(bpf.ALUOpMod, 7), retA}, 2},
	{"mod by big k", icmp98, prog{ldA(0xffffffff), aluK(bpf.ALUOpMod, 0x80000000), retA}, 0x7fffffff},
	{"div k 0", icmp98, prog{ldA(100), aluK(bpf.ALUOpDiv, 0), ret(1)}, 0},
	{"mod k 0", icmp98, prog{ldA(100), aluK(bpf.ALUOpMod, 0), ret(1)}, 0},
	{"and", icmp98, prog{ldA(0xf0f0), aluK(bpf.ALUOpAnd, 0xff00), retA}, 0xf000},
	{"or", icmp98, prog{ldA(0xf0f0), aluK(bpf.ALUOpOr, 0x80000000), retA}, 0x8000f0f0},
	{"xor", icmp98, prog{ldA(0xffffffff), aluK(bpf.ALUOpXor, 0x0f0f0f0f), retA}, 0xf0f0f0f0},
	{"lsh", icmp98, prog{ldA(0x80000001), aluK(bpf.ALUOpShiftLeft, 1), retA}, 2},
	{"rsh is logical", icmp98, prog{ldA(0x80000000), aluK(bpf.ALUOpShiftRight, 31), retA}, 1},
	{"lsh k 32", icmp98, prog{ldA(1), aluK(bpf.ALUOpShiftLeft, 32), retA}, 0},
	{"rsh k 40", icmp98, prog{ldA(0xffffffff), aluK(bpf.ALUOpShiftRight, 40), retA}, 0},
	{"neg", icmp98, prog{ldA(5), neg, retA}, 0xfffffffb},
	{"neg 0", icmp98, prog{neg, retA}, 0},
	{"neg min", icmp98, prog{ldA(0x80000000), neg, retA}, 0x80000000},

	// ALU, X form.
	{"add x", icmp98, prog{ldA(0xfffffff0), ldX(0x20), aluX(bpf.ALUOpAdd), retA}, 0x10},
	{"sub x", icmp98, prog{ldA(1), ldX(2), aluX(bpf.ALUOpSub), retA}, 0xffffffff},
	{"mul x", icmp98, prog{ldA(0x80000000), ldX(2), aluX(bpf.ALUOpMul), retA}, 0},
	{"div x", icmp98, prog{ldA(100), ldX(7), aluX(bpf.ALUOpDiv), retA}, 14},
	{"mod x", icmp98, prog{ldA(100), ldX(7), aluX(bpf.ALUOpMod), retA}, 2},
	{"div x 0", icmp98, prog{ldA(100), ldX(0), aluX(bpf.ALUOpDiv), ret(1)}, 0},
	{"mod x 0", icmp98, prog{ldA(100), ldX(0), aluX(bpf.ALUOpMod), ret(1)}, 0},
	{"div x 0 from packet", syn60, prog{ldb(15), tax, ldA(1), aluX(bpf.ALUOpDiv), ret(1)}, 0},
	{"and x", icmp98, prog{ldA(0xff), ldX(0x0f), aluX(bpf.ALUOpAnd), retA}, 0x0f},
	{"or x", icmp98, prog{ldA(0xf0), ldX(0x0f), aluX(bpf.ALUOpOr), retA}, 0xff},
	{"xor x", icmp98, prog{ldA(0xff), ldX(0x0f), aluX(bpf.ALUOpXor), retA}, 0xf0},
	{"lsh x", icmp98, prog{ldA(1), ldX(31), aluX(bpf.ALUOpShiftLeft), retA}, 0x80000000},
	{"lsh x 32", icmp98, prog{ldA(1), ldX(32), aluX(bpf.ALUOpShiftLeft), retA}, 0},
	{"rsh x", icmp98, prog{ldA(0x80000000), ldX(4), aluX(bpf.ALUOpShiftRight), retA}, 0x08000000},
	{"rsh x huge", icmp98, prog{ldA(0x80000000), ldX(0xffffffff), aluX(bpf.ALUOpShiftRight), retA}, 0},

	// Jumps: every condition, K and X, values >= 2^31 (a 64-bit compare
	// would sign-extend the constant), ja, both branches.
	{"ja", icmp98, prog{ja(1), ret(1), ret(2)}, 2},
	{"ja 0", icmp98, prog{ja(0), ret(3)}, 3},
	{"unreachable code", icmp98, prog{ja(2), ldA(1), aluK(bpf.ALUOpDiv, 0), ret(4)}, 4},
	{"jeq true", icmp98, prog{ldA(0x80000000), jK(bpf.JumpEqual, 0x80000000, 0, 1), ret(1), ret(2)}, 1},
	{"jeq false", icmp98, prog{ldA(1), jK(bpf.JumpEqual, 2, 0, 1), ret(1), ret(2)}, 2},
	{"jne", icmp98, prog{ldA(1), jK(bpf.JumpNotEqual, 2, 1, 0), ret(1), ret(2)}, 2},
	{"jgt unsigned", icmp98, prog{ldA(0x80000000), jK(bpf.JumpGreaterThan, 0x7fffffff, 1, 0), ret(1), ret(2)}, 2},
	{"jgt equal", icmp98, prog{ldA(5), jK(bpf.JumpGreaterThan, 5, 1, 0), ret(1), ret(2)}, 1},
	{"jge equal", icmp98, prog{ldA(5), jK(bpf.JumpGreaterOrEqual, 5, 1, 0), ret(1), ret(2)}, 2},
	{"jge big", icmp98, prog{ldA(0xfffffffe), jK(bpf.JumpGreaterOrEqual, 0xffffffff, 1, 0), ret(1), ret(2)}, 1},
	{"jlt", icmp98, prog{ldA(1), jK(bpf.JumpLessThan, 0xffffffff, 1, 0), ret(1), ret(2)}, 2},
	{"jle", icmp98, prog{ldA(0xffffffff), jK(bpf.JumpLessOrEqual, 0xffffffff, 1, 0), ret(1), ret(2)}, 2},
	{"jset", icmp98, prog{ldA(0x80000010), jK(bpf.JumpBitsSet, 0x80000000, 1, 0), ret(1), ret(2)}, 2},
	{"jset none", icmp98, prog{ldA(0x10), jK(bpf.JumpBitsSet, 0x0f, 1, 0), ret(1), ret(2)}, 1},
	{"jset not set", icmp98, prog{ldA(0x10), jK(bpf.JumpBitsNotSet, 0x0f, 1, 0), ret(1), ret(2)}, 2},
	{"both branches same", icmp98, prog{ldA(1), jK(bpf.JumpEqual, 1, 1, 1), ret(1), ret(2)}, 2},
	{"both branches next", icmp98, prog{ldA(1), jK(bpf.JumpEqual, 1, 0, 0), ret(1), ret(2)}, 1},
	{"true falls through, false jumps", icmp98, prog{ldA(1), jK(bpf.JumpEqual, 2, 0, 2), ret(1), ret(2), ret(3)}, 3},
	{"jeq x", icmp98, prog{ldA(0x90000000), ldX(0x90000000), jX(bpf.JumpEqual, 1, 0), ret(1), ret(2)}, 2},
	{"jgt x", icmp98, prog{ldA(0x90000000), ldX(1), jX(bpf.JumpGreaterThan, 1, 0), ret(1), ret(2)}, 2},
	{"jge x", icmp98, prog{ldA(1), ldX(1), jX(bpf.JumpGreaterOrEqual, 1, 0), ret(1), ret(2)}, 2},
	{"jset x", icmp98, prog{ldA(6), ldX(2), jX(bpf.JumpBitsSet, 1, 0), ret(1), ret(2)}, 2},
	{"jset x none", icmp98, prog{ldA(6), ldX(1), jX(bpf.JumpBitsSet, 1, 0), ret(1), ret(2)}, 1},
	{"jne x", icmp98, prog{ldA(6), ldX(1), jX(bpf.JumpNotEqual, 1, 0), ret(1), ret(2)}, 2},
	{"jlt x", icmp98, prog{ldA(6), ldX(7), jX(bpf.JumpLessThan, 1, 0), ret(1), ret(2)}, 2},
	{"jle x", icmp98, prog{ldA(8), ldX(7), jX(bpf.JumpLessOrEqual, 1, 0), ret(1), ret(2)}, 1},
	{"jset x not set", icmp98, prog{ldA(6), ldX(1), jX(bpf.JumpBitsNotSet, 1, 0), ret(1), ret(2)}, 2},
	{"long jump", icmp98, append(append(prog{ja(200)}, repeat(ldA(1), 200)...), ret(5)), 5},
}

func repeat(i ins, n int) prog {
	p := make(prog, n)
	for j := range p {
		p[j] = i
	}
	return p
}

// TestHandWritten checks each hand-written program three ways: the expected
// value worked out by hand, the reference VM, and the kernel.
func TestHandWritten(t *testing.T) {
	testutils.RequirePrivileged(t)
	fs := frames(t)
	for _, c := range handWritten {
		t.Run(c.name, func(t *testing.T) {
			pkt := frameNamed(t, fs, c.frame)
			ref, err := reference(c.prog, pkt)
			if err != nil {
				t.Fatal(err)
			}
			if ref != c.want {
				t.Fatalf("reference VM returns %#x, want %#x (frame %q)", ref, c.want, c.frame)
			}
			got, err := kernelRun(loadHarness(t, c.prog), pkt)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("kernel returns %#x, want %#x\n%v", got, c.want, c.prog)
			}
		})
	}
}
