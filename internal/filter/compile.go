// Package filter compiles tcpdump filter expressions to classic BPF with libpcap and translates classic BPF to eBPF instructions for XDP programs.
package filter

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include <dlfcn.h>
#include <pcap/pcap.h>

// libpcap is opened on first use rather than linked: linking it pulls eight
// shared libraries (dbus, systemd, gcrypt, ...) into every xdplab start,
// about 1.3 ms each time, for the one command that compiles filters.
static void *pl_lib;
static pcap_t *(*pl_open_dead)(int, int);
static int (*pl_compile)(pcap_t *, struct bpf_program *, const char *, int, bpf_u_int32);
static char *(*pl_geterr)(pcap_t *);
static void (*pl_freecode)(struct bpf_program *);
static void (*pl_close)(pcap_t *);
static u_int (*pl_filter)(const struct bpf_insn *, const u_char *, u_int, u_int);
static int (*pl_validate)(const struct bpf_insn *, int);

#define PL_SYM(var, name) do { *(void **)(&var) = dlsym(pl_lib, name); if (!var) return "libpcap lacks " name; } while (0)

static const char *pl_load(void) {
	static const char *names[] = {"libpcap.so.1", "libpcap.so.0.8", "libpcap.so", NULL};
	for (int i = 0; names[i] && !pl_lib; i++)
		pl_lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!pl_lib)
		return dlerror();
	PL_SYM(pl_open_dead, "pcap_open_dead");
	PL_SYM(pl_compile, "pcap_compile");
	PL_SYM(pl_geterr, "pcap_geterr");
	PL_SYM(pl_freecode, "pcap_freecode");
	PL_SYM(pl_close, "pcap_close");
	PL_SYM(pl_filter, "bpf_filter");
	PL_SYM(pl_validate, "bpf_validate");
	return NULL;
}

static pcap_t *pl_pcap_open_dead(int linktype, int snaplen) { return pl_open_dead(linktype, snaplen); }
static int pl_pcap_compile(pcap_t *p, struct bpf_program *fp, const char *s, int opt, bpf_u_int32 mask) { return pl_compile(p, fp, s, opt, mask); }
static char *pl_pcap_geterr(pcap_t *p) { return pl_geterr(p); }
static void pl_pcap_freecode(struct bpf_program *fp) { pl_freecode(fp); }
static void pl_pcap_close(pcap_t *p) { pl_close(p); }
static u_int pl_bpf_filter(const struct bpf_insn *pc, const u_char *pkt, u_int wirelen, u_int buflen) { return pl_filter(pc, pkt, wirelen, buflen); }
static int pl_bpf_validate(const struct bpf_insn *f, int len) { return pl_validate(f, len); }
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

var (
	loadOnce sync.Once
	loadErr  error
)

// loadLibpcap opens libpcap once, on the first filter.
func loadLibpcap() error {
	loadOnce.Do(func() {
		if msg := C.pl_load(); msg != nil {
			loadErr = fmt.Errorf("capture filters need libpcap (%s): install it, e.g. `apt-get install libpcap0.8`", C.GoString(msg))
		}
	})
	return loadErr
}

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
	if err := loadLibpcap(); err != nil {
		return nil, err
	}
	p := C.pl_pcap_open_dead(C.DLT_EN10MB, C.int(snaplen))
	if p == nil {
		return nil, errors.New("error opening dead capture")
	}
	defer C.pl_pcap_close(p)
	cexpr := C.CString(expr)
	defer C.free(unsafe.Pointer(cexpr))

	var prog C.struct_bpf_program
	compileMu.Lock()
	rc := C.pl_pcap_compile(p, &prog, cexpr, 1, C.PCAP_NETMASK_UNKNOWN)
	compileMu.Unlock()
	if rc < 0 {
		// The message lives in the handle, which is still open here.
		return nil, errors.New(C.GoString(C.pl_pcap_geterr(p)))
	}
	defer C.pl_pcap_freecode(&prog)

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
	if err := loadLibpcap(); err != nil {
		return false, err
	}
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
	if C.pl_bpf_validate(&prog[0], C.int(len(prog))) == 0 {
		return false, errors.New("libpcap refuses the filter program")
	}
	// bpf_filter never reads past buflen; an empty packet still needs an
	// address to pass.
	data := pkt
	if len(data) == 0 {
		data = make([]byte, 1)
	}
	n := len(pkt)
	return C.pl_bpf_filter(&prog[0], (*C.u_char)(unsafe.Pointer(&data[0])), C.u_int(n), C.u_int(n)) != 0, nil
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
