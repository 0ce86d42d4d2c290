// Package filter compiles tcpdump filter expressions to classic BPF with libpcap and translates classic BPF to eBPF instructions for XDP programs.
package filter

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"
)

// ErrBadFilter is wrapped by every error Compile returns for an expression
// libpcap rejects.
var ErrBadFilter = errors.New("bad filter")

// compileError reads `compile filter "EXPR": <libpcap's message>` and is
// ErrBadFilter for errors.Is, so the learner sees libpcap's own words.
type compileError struct {
	expr, msg string
}

func (e *compileError) Error() string { return fmt.Sprintf("compile filter %q: %s", e.expr, e.msg) }

func (e *compileError) Unwrap() error { return ErrBadFilter }

// DefaultSnaplen is the snapshot length Compile uses when given snaplen <= 0;
// it is libpcap's MAXIMUM_SNAPLEN, so "ret #snaplen" never truncates a frame.
const DefaultSnaplen = 262144

// Compile compiles a tcpdump filter expression for Ethernet frames to classic
// BPF, as tcpdump would. The program returns 0 for a frame that does not
// match, and snaplen (the number of bytes to keep) for one that does.
//
// An empty (or all-blank) expression matches everything: libpcap compiles it
// to the single instruction "ret #snaplen", and Compile returns that program
// rather than nil so callers need no special case.
func Compile(expr string, snaplen int) ([]bpf.Instruction, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	raw, err := system.pcapCompile(expr, snaplen)
	if errors.Is(err, ErrNoLibpcap) {
		return nil, err
	}
	if err != nil {
		return nil, &compileError{expr: expr, msg: err.Error()}
	}
	insns := make([]bpf.Instruction, 0, len(raw))
	for _, ri := range raw {
		insns = append(insns, disassemble(ri))
	}
	return insns, nil
}

// Match runs a classic BPF program over one whole packet with libpcap's own
// interpreter, bpf_filter(), as tcpdump does when it reads a file: the
// independent answer to what a filter keeps, for checking other
// implementations of it (the XDP translation). It reports whether the
// program keeps the packet (returns non-zero). A program libpcap's
// bpf_validate refuses is an error, as the interpreter trusts its input.
func Match(insns []bpf.Instruction, pkt []byte) (bool, error) {
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return false, fmt.Errorf("assemble filter: %w", err)
	}
	if len(raw) == 0 {
		return false, errors.New("empty filter program")
	}
	return system.match(raw, pkt)
}

// Opcodes x/net/bpf's Disassemble gets wrong for the X register: it decodes
// "ldx #len" as "ld #len" (losing the destination), and the A-only address
// modes abs/ind as loads into A. The kernel never accepts the latter; the
// former is valid cBPF, so it stays raw and Translate handles it.
const (
	opLdxLen = 0x81 // BPF_LDX | BPF_W | BPF_LEN
	clsLdx   = 0x01
	modeMask = 0xe0
	modeImm  = 0x00
	modeMem  = 0x60
	modeMsh  = 0xa0
)

// disassemble is bpf.RawInstruction.Disassemble, except that it keeps the
// ldx instructions x/net/bpf would misdecode as raw instructions.
func disassemble(ri bpf.RawInstruction) bpf.Instruction {
	if ri.Op&0x07 == clsLdx {
		switch ri.Op & modeMask {
		case modeImm, modeMem, modeMsh:
		default:
			return ri
		}
	}
	return ri.Disassemble()
}
