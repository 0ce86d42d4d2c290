// Package filter compiles tcpdump filter expressions to classic BPF with libpcap and translates classic BPF to eBPF instructions for XDP programs.
package filter

/*
#cgo LDFLAGS: -lpcap
#include <stdlib.h>
#include <pcap/pcap.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

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

// compileMu serialises pcap_compile: libpcap older than 1.8 keeps the parser
// state in globals, and holding a mutex is cheaper than finding out which
// libpcap the machine has.
var compileMu sync.Mutex

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
	raw, err := pcapCompile(expr, snaplen)
	if err != nil {
		return nil, &compileError{expr: expr, msg: err.Error()}
	}
	insns := make([]bpf.Instruction, 0, len(raw))
	for _, ri := range raw {
		insns = append(insns, disassemble(ri))
	}
	return insns, nil
}

// pcapCompile is tcpdump's compile step: a dead Ethernet handle, the
// optimiser on, no netmask (so "ip broadcast" is refused, as in tcpdump -r).
// Its errors are libpcap's pcap_geterr text, unchanged.
func pcapCompile(expr string, snaplen int) ([]bpf.RawInstruction, error) {
	p := C.pcap_open_dead(C.DLT_EN10MB, C.int(snaplen))
	if p == nil {
		return nil, errors.New("error opening dead capture")
	}
	defer C.pcap_close(p)
	cexpr := C.CString(expr)
	defer C.free(unsafe.Pointer(cexpr))

	var prog C.struct_bpf_program
	compileMu.Lock()
	rc := C.pcap_compile(p, &prog, cexpr, 1, C.PCAP_NETMASK_UNKNOWN)
	compileMu.Unlock()
	if rc < 0 {
		// The message lives in the handle, which is still open here.
		return nil, errors.New(C.GoString(C.pcap_geterr(p)))
	}
	defer C.pcap_freecode(&prog)

	insns := unsafe.Slice(prog.bf_insns, prog.bf_len)
	raw := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = bpf.RawInstruction{Op: uint16(in.code), Jt: uint8(in.jt), Jf: uint8(in.jf), K: uint32(in.k)}
	}
	return raw, nil
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
	prog := make([]C.struct_bpf_insn, len(raw))
	for i, ri := range raw {
		prog[i] = C.struct_bpf_insn{code: C.u_short(ri.Op), jt: C.u_char(ri.Jt), jf: C.u_char(ri.Jf), k: C.bpf_u_int32(ri.K)}
	}
	if C.bpf_validate(&prog[0], C.int(len(prog))) == 0 {
		return false, errors.New("libpcap refuses the filter program")
	}
	// bpf_filter never reads past buflen; an empty packet still needs an
	// address to pass.
	data := pkt
	if len(data) == 0 {
		data = make([]byte, 1)
	}
	n := len(pkt)
	return C.bpf_filter(&prog[0], (*C.u_char)(unsafe.Pointer(&data[0])), C.u_int(n), C.u_int(n)) != 0, nil
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
