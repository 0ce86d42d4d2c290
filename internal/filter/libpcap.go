package filter

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"golang.org/x/net/bpf"
)

// ErrNoLibpcap is wrapped by the error every filter function returns on a
// machine where libpcap cannot be loaded: a fault of the environment, not of
// the filter.
var ErrNoLibpcap = errors.New("libpcap not found")

// libpcapNames are the sonames tried in order: Debian and Ubuntu's
// libpcap0.8 ships libpcap.so.0.8, Fedora and Arch ship libpcap.so.1;
// libpcap.so comes only with a -dev package.
var libpcapNames = []string{"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"}

// libpcapInstall is the fix printed when no soname loads.
const libpcapInstall = "install libpcap: `sudo apt-get install libpcap0.8` (Debian, Ubuntu; libpcap0.8t64 since Debian 13 and Ubuntu 24.04) or `sudo dnf install libpcap` (Fedora)"

// bpfInsn and bpfProgram are libpcap's struct bpf_insn and struct
// bpf_program, laid out as C lays them out.
type bpfInsn struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

type bpfProgram struct {
	len   uint32
	insns *bpfInsn // allocated by libpcap, released by pcap_freecode
}

// libpcap is the library opened at run time with purego rather than linked
// at build time: the binary then builds with CGO_ENABLED=0 and no libpcap
// headers, and a command that compiles no filter never loads it (linking it
// pulls eight shared libraries, dbus, systemd, gcrypt..., into every start).
type libpcap struct {
	names []string // sonames to try, in order

	once sync.Once
	err  error

	openDead func(linktype, snaplen int32) uintptr
	compile  func(p uintptr, prog *bpfProgram, expr string, optimize int32, netmask uint32) int32
	geterr   func(p uintptr) string
	freecode func(prog *bpfProgram)
	close    func(p uintptr)
	filter   func(pc *bpfInsn, pkt *byte, wirelen, buflen uint32) uint32
	validate func(f *bpfInsn, n int32) int32
}

// compileMu serialises pcap_compile: libpcap older than 1.8 keeps the parser
// state in globals, and holding a mutex is cheaper than finding out which
// libpcap the machine has.
var compileMu sync.Mutex

// system is the libpcap every filter function uses, opened on the first
// filter.
var system = &libpcap{names: libpcapNames}

// load opens the library once and resolves the functions filters need.
func (l *libpcap) load() error {
	l.once.Do(func() { l.err = l.open() })
	return l.err
}

func (l *libpcap) open() error {
	var handle uintptr
	var failures []string
	for _, name := range l.names {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err == nil {
			handle = h
			break
		}
		failures = append(failures, err.Error())
	}
	if handle == 0 {
		return fmt.Errorf("%w: capture filters need it, and none of %s loads (%s); %s",
			ErrNoLibpcap, strings.Join(l.names, ", "), strings.Join(failures, "; "), libpcapInstall)
	}
	for _, f := range []struct {
		name string
		fptr any
	}{
		{"pcap_open_dead", &l.openDead},
		{"pcap_compile", &l.compile},
		{"pcap_geterr", &l.geterr},
		{"pcap_freecode", &l.freecode},
		{"pcap_close", &l.close},
		{"bpf_filter", &l.filter},
		{"bpf_validate", &l.validate},
	} {
		sym, err := purego.Dlsym(handle, f.name)
		if err != nil {
			return fmt.Errorf("%w: the libpcap found lacks %s (%v), which capture filters need; %s",
				ErrNoLibpcap, f.name, err, libpcapInstall)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	return nil
}

// pcapCompile is tcpdump's compile step: a dead Ethernet handle, the
// optimiser on, no netmask (so "ip broadcast" is refused: no netmask is
// known for a hook's packets). Its errors are libpcap's pcap_geterr text,
// unchanged.
func (l *libpcap) pcapCompile(expr string, snaplen int) ([]bpf.RawInstruction, error) {
	const (
		dltEN10MB            = 1
		netmaskUnknown       = 0xffffffff
		optimize       int32 = 1
	)
	if err := l.load(); err != nil {
		return nil, err
	}
	p := l.openDead(dltEN10MB, int32(snaplen))
	if p == 0 {
		return nil, errors.New("error opening dead capture")
	}
	defer l.close(p)

	var prog bpfProgram
	compileMu.Lock()
	rc := l.compile(p, &prog, expr, optimize, netmaskUnknown)
	compileMu.Unlock()
	if rc < 0 {
		// The message lives in the handle, which is still open here.
		return nil, errors.New(l.geterr(p))
	}
	defer l.freecode(&prog)

	insns := unsafe.Slice(prog.insns, prog.len)
	raw := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = bpf.RawInstruction{Op: in.code, Jt: in.jt, Jf: in.jf, K: in.k}
	}
	return raw, nil
}

// match runs libpcap's bpf_filter over pkt, after bpf_validate accepts the
// program (the interpreter trusts its input).
func (l *libpcap) match(raw []bpf.RawInstruction, pkt []byte) (bool, error) {
	if err := l.load(); err != nil {
		return false, err
	}
	prog := make([]bpfInsn, len(raw))
	for i, ri := range raw {
		prog[i] = bpfInsn{code: ri.Op, jt: ri.Jt, jf: ri.Jf, k: ri.K}
	}
	if l.validate(&prog[0], int32(len(prog))) == 0 {
		return false, errors.New("libpcap refuses the filter program")
	}
	// bpf_filter never reads past buflen; an empty packet still needs an
	// address to pass.
	data := pkt
	if len(data) == 0 {
		data = make([]byte, 1)
	}
	n := uint32(len(pkt))
	return l.filter(&prog[0], &data[0], n, n) != 0, nil
}
