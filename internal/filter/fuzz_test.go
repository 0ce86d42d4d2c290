package filter

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/xdplab/xdplab/internal/testutils"
)

// byteSource hands out fuzz bytes, and zeros once they run out, so every
// input decodes to some program.
type byteSource []byte

func (s *byteSource) byte() byte {
	if len(*s) == 0 {
		return 0
	}
	b := (*s)[0]
	*s = (*s)[1:]
	return b
}

func (s *byteSource) intn(n int) int { return int(s.byte()) % n }

func (s *byteSource) u32() uint32 {
	return uint32(s.byte())<<24 | uint32(s.byte())<<16 | uint32(s.byte())<<8 | uint32(s.byte())
}

// value is a constant that is interesting for cBPF: small, a shift count
// near 32, a packet offset, or any 32-bit value.
func (s *byteSource) value() uint32 {
	switch s.intn(4) {
	case 0:
		return uint32(s.intn(8))
	case 1:
		return uint32(28 + s.intn(8))
	case 2:
		return uint32(s.byte())
	default:
		return s.u32()
	}
}

// offset is a packet offset: mostly inside the test frames, sometimes at
// or beyond their ends and the load limit.
func (s *byteSource) offset() uint32 {
	switch s.intn(8) {
	case 0:
		return []uint32{0xffff, 0x10000, 0xfffffff0, 0x7fffffff}[s.intn(4)]
	case 1:
		return uint32(90 + s.intn(20))
	default:
		return uint32(s.intn(70))
	}
}

var (
	fuzzALUOps = []bpf.ALUOp{bpf.ALUOpAdd, bpf.ALUOpSub, bpf.ALUOpMul, bpf.ALUOpDiv, bpf.ALUOpOr,
		bpf.ALUOpAnd, bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight, bpf.ALUOpMod, bpf.ALUOpXor}
	fuzzConds = []bpf.JumpTest{bpf.JumpEqual, bpf.JumpNotEqual, bpf.JumpGreaterThan, bpf.JumpLessThan,
		bpf.JumpGreaterOrEqual, bpf.JumpLessOrEqual, bpf.JumpBitsSet, bpf.JumpBitsNotSet}
	fuzzSizes = []int{1, 2, 4}
)

// genProgram decodes fuzz bytes into a valid cBPF program: forward jumps
// that land inside it, scratch indices 0..15, a return at the end.
func genProgram(data []byte) []bpf.Instruction {
	s := byteSource(data)
	n := 2 + s.intn(31)
	prog := make([]bpf.Instruction, n)
	reg := func() bpf.Register { return bpf.Register(s.intn(2)) }
	for i := 0; i < n-1; i++ {
		room := n - 1 - i // instructions after this one; a skip must be < room
		skip := func() uint8 { return uint8(s.intn(min(room, 256))) }
		var ins bpf.Instruction
		switch s.intn(20) {
		case 0:
			ins = bpf.LoadAbsolute{Off: s.offset(), Size: fuzzSizes[s.intn(3)]}
		case 1:
			ins = bpf.LoadIndirect{Off: s.offset(), Size: fuzzSizes[s.intn(3)]}
		case 2:
			ins = bpf.LoadMemShift{Off: s.offset()}
		case 3:
			ins = bpf.LoadConstant{Dst: reg(), Val: s.value()}
		case 4:
			ins = bpf.LoadScratch{Dst: reg(), N: s.intn(16)}
		case 5:
			ins = bpf.StoreScratch{Src: reg(), N: s.intn(16)}
		case 6:
			ins = bpf.LoadExtension{Num: bpf.ExtLen}
		case 7:
			ins = bpf.RawInstruction{Op: opLdxLen}
		case 8, 9:
			ins = bpf.ALUOpConstant{Op: fuzzALUOps[s.intn(len(fuzzALUOps))], Val: s.value()}
		case 10, 11:
			ins = bpf.ALUOpX{Op: fuzzALUOps[s.intn(len(fuzzALUOps))]}
		case 12:
			ins = bpf.NegateA{}
		case 13:
			ins = bpf.Jump{Skip: uint32(skip())}
		case 14, 15:
			ins = bpf.JumpIf{Cond: fuzzConds[s.intn(len(fuzzConds))], Val: s.value(), SkipTrue: skip(), SkipFalse: skip()}
		case 16:
			ins = bpf.JumpIfX{Cond: fuzzConds[s.intn(len(fuzzConds))], SkipTrue: skip(), SkipFalse: skip()}
		case 17:
			ins = bpf.TAX{}
		case 18:
			ins = bpf.TXA{}
		default:
			if s.intn(2) == 0 {
				ins = bpf.RetA{}
			} else {
				ins = bpf.RetConstant{Val: s.value()}
			}
		}
		prog[i] = ins
	}
	if s.intn(2) == 0 {
		prog[n-1] = bpf.RetA{}
	} else {
		prog[n-1] = bpf.RetConstant{Val: s.value()}
	}
	return prog
}

// fuzzFrames are the frames every fuzzed program runs on: the shortest the
// test run takes, a truncated header, TCP behind IP options, an ICMP echo.
func fuzzFrames(tb testing.TB) [][]byte {
	fs := frames(tb)
	var out [][]byte
	for _, name := range []string{"ethernet header only", "tcp header cut", ihl6, icmp98} {
		out = append(out, frameNamed(tb, fs, name))
	}
	return out
}

// checkProgram translates, loads and runs one program on the frames and
// compares the kernel with the reference VM.
func checkProgram(t *testing.T, insns []bpf.Instruction, pkts [][]byte) {
	t.Helper()
	prog, err := newHarness(insns)
	if err != nil {
		t.Fatalf("load %v: %v", insns, err)
	}
	defer prog.Close()
	for _, pkt := range pkts {
		want, err := reference(insns, pkt)
		if err != nil {
			t.Fatalf("%v: %v", insns, err)
		}
		got, err := kernelRun(prog, pkt)
		if err != nil {
			t.Fatalf("%v: %v", insns, err)
		}
		if got != want {
			t.Fatalf("%d-byte frame: kernel returns %#x, VM %#x\n%v", len(pkt), got, want, insns)
		}
	}
}

// FuzzTranslate compares the kernel with the VM on random valid cBPF
// programs. The seed corpus runs in every `go test`; `go test -fuzz
// FuzzTranslate ./internal/filter/` explores further.
func FuzzTranslate(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 64 {
		seed := make([]byte, 128)
		for i := range seed {
			seed[i] = byte(rng.Uint32())
		}
		f.Add(seed)
	}
	f.Add([]byte{})
	f.Add([]byte{30, 12, 10, 3, 8, 3, 4, 0, 0, 0, 0, 13})

	testutils.RequirePrivileged(f)
	pkts := fuzzFrames(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkProgram(t, genProgram(data), pkts)
	})
}

// TestTranslateRandom runs a few hundred more generated programs than the
// fuzz seeds, deterministically, so plain `go test` covers the translator
// broadly.
func TestTranslateRandom(t *testing.T) {
	testutils.RequirePrivileged(t)
	pkts := fuzzFrames(t)
	rng := rand.New(rand.NewPCG(3, 4))
	n := 500
	if testing.Short() {
		n = 50
	}
	for range n {
		data := make([]byte, 160)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		checkProgram(t, genProgram(data), pkts)
	}
}
