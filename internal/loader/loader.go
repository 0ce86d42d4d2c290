// Package loader turns a lab's embedded program or a learner's object file into
// loaded, attached and pinned BPF objects, checking names and types first so a
// wrong object fails with a sentence instead of a kernel errno.
package loader

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/build"
	"github.com/xdplab/xdplab/internal/filekind"
	"github.com/xdplab/xdplab/internal/namespace"
)

// Want is what a lab needs from an object: programs and maps by name.
type Want struct {
	Programs map[string]ebpf.ProgramType
	Maps     map[string]MapShape
}

// MapShape is the type and, where the lab reads the map itself, the key and
// value sizes it relies on (0 = any).
type MapShape struct {
	Type ebpf.MapType
	// Also lists other types the lab accepts in place of Type (a learner's
	// DEVMAP where the lab's own program uses a DEVMAP_HASH).
	Also      []ebpf.MapType
	KeySize   uint32
	ValueSize uint32
}

func (s MapShape) accepts(t ebpf.MapType) bool {
	return t == s.Type || slices.Contains(s.Also, t)
}

// kinds names the accepted types: "DevMapHash or DevMap".
func (s MapShape) kinds() string {
	k := s.Type.String()
	for _, t := range s.Also {
		k += " or " + t.String()
	}
	return k
}

// ErrBadObject marks an object that is not what the lab expects.
var ErrBadObject = errors.New("unusable BPF object")

// Spec returns the collection to load: the learner's object file when obj is
// set, the lab's embedded program otherwise. Either way it is checked against
// want before anything reaches the kernel.
func Spec(embedded func() (*ebpf.CollectionSpec, error), obj string, want Want) (*ebpf.CollectionSpec, error) {
	if obj == "" {
		spec, err := embedded()
		if err != nil {
			return nil, fmt.Errorf("embedded program: %w", err)
		}
		return spec, Check(spec, want)
	}
	return SpecFromFile(obj, want)
}

// CheckObj is a lab's Validate for --obj: nothing to check without one.
func CheckObj(obj string, want Want) error {
	if obj == "" {
		return nil
	}
	_, err := SpecFromFile(obj, want)
	return err
}

// LoadAndPin loads the lab's collection (embedded or --obj) and pins the named
// maps under dir. The caller attaches programs and closes the collection.
func LoadAndPin(embedded func() (*ebpf.CollectionSpec, error), obj string, want Want, dir string, maps ...string) (*ebpf.Collection, error) {
	spec, err := Spec(embedded, obj, want)
	if err != nil {
		return nil, err
	}
	coll, err := Load(spec)
	if err != nil {
		return nil, err
	}
	if err := PinMaps(coll, dir, maps...); err != nil {
		coll.Close()
		return nil, err
	}
	return coll, nil
}

// SpecFromFile reads and checks a learner-built object.
func SpecFromFile(obj string, want Want) (*ebpf.CollectionSpec, error) {
	f, err := openObject(obj)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := f.ReadAt(magic, 0); err != nil || string(magic) != "\x7fELF" {
		return nil, fmt.Errorf("%w: --obj %s is not an ELF file: build it with `clang -O2 -g -target bpf -c prog.c -o prog.o`", ErrBadObject, obj)
	}
	// Parse the file that was checked, not whatever the path names by now.
	spec, err := ebpf.LoadCollectionSpecFromReader(f)
	if err != nil {
		if withoutBTF(f) {
			return nil, fmt.Errorf("%w: --obj %s was built without -g (no BTF, which its maps need): %s", ErrBadObject, obj, rebuild(obj))
		}
		return nil, fmt.Errorf("%w: --obj %s is not a BPF object clang built for -target bpf: %w", ErrBadObject, obj, err)
	}
	if why := builtAtO0(spec); why != "" {
		return nil, fmt.Errorf("%w: --obj %s was built at -O0 (unoptimised, %s, which the kernel refuses): %s", ErrBadObject, obj, why, rebuild(obj))
	}
	if err := Check(spec, want); err != nil {
		return nil, fmt.Errorf("--obj %s: %w", obj, err)
	}
	return spec, nil
}

// withoutBTF reports whether f is a BPF ELF without a .BTF section: built
// without -g, which an object with BTF-defined maps (.maps) cannot do
// without. (A legacy "maps" section needs no BTF, and such an object loads.)
func withoutBTF(f io.ReaderAt) bool {
	ef, err := elf.NewFile(f)
	if err != nil {
		return false
	}
	return ef.Machine == elf.EM_BPF && ef.Section(".BTF") == nil
}

// builtAtO0 says why spec is clang's unoptimised (-O0) output in a form the
// kernel refuses, or "" when it is not. Two traits are needed, so that
// neither alone misnames an optimised object:
//
//   - the shape of -O0 code: every program begins by storing its context
//     argument (r1) to the stack, since -O0 keeps every variable in memory;
//     optimised code keeps it in a register.
//   - a defect that makes the load fail: a helper called through a pointer
//     (callx; libbpf declares helpers as constant function pointers, which
//     only the optimiser turns into calls by number, and the kernel has no
//     indirect calls), or a function whose BTF names no arguments (clang 14
//     at -O0; the kernel refuses it with "load btf: invalid argument").
//
// Neither trait depends on debug info beyond the BTF every loadable object
// has, and nothing clang records (DW_AT_producer names no flags unless
// -grecord-command-line) says -O0 itself. An -O0 object with neither defect
// (no helper calls, a newer clang) loads and is graded like any other.
func builtAtO0(spec *ebpf.CollectionSpec) string {
	var callx, unnamed bool
	for _, p := range spec.Programs {
		if len(p.Instructions) == 0 {
			continue
		}
		if !spillsContext(p.Instructions[0]) {
			return ""
		}
		for i := range p.Instructions {
			ins := &p.Instructions[i]
			callx = callx || ins.OpCode.JumpOp() == asm.Call && ins.OpCode.Source() == asm.RegSource
			if fn := btf.FuncMetadata(ins); fn != nil && unnamedArgument(fn) {
				unnamed = true
			}
		}
	}
	switch {
	case callx:
		return "it calls helpers through pointers"
	case unnamed:
		return "its BTF names no function arguments"
	}
	return ""
}

// spillsContext: *(u64 *)(r10 - off) = r1.
func spillsContext(ins asm.Instruction) bool {
	op := ins.OpCode
	return op.Class() == asm.StXClass && op.Mode() == asm.MemMode && op.Size() == asm.DWord &&
		ins.Dst == asm.R10 && ins.Src == asm.R1 && ins.Offset < 0
}

func unnamedArgument(fn *btf.Func) bool {
	proto, ok := fn.Type.(*btf.FuncProto)
	if !ok {
		return false
	}
	for _, p := range proto.Params {
		if p.Name == "" {
			return true
		}
	}
	return false
}

// rebuild says how to build obj again: from the C file of the same name if
// there is one.
func rebuild(obj string) string {
	src := strings.TrimSuffix(obj, ".o") + ".c"
	if _, err := os.Stat(src); err != nil {
		src = "FILE.c"
	}
	return fmt.Sprintf("rebuild it with `xdplab build %s` or `%s`", src, build.CommandLine(src, obj))
}

// openObject opens --obj for reading if it is a regular file. Opening a FIFO
// blocks until a writer comes, in a system call that Ctrl-C cannot end, and
// a device or socket is no object file either: both are refused after a stat,
// and the open itself is non-blocking in case the path changed in between.
func openObject(obj string) (*os.File, error) {
	fi, err := os.Stat(obj)
	if err != nil {
		return nil, fmt.Errorf("--obj %s: %w", obj, err)
	}
	if err := regularObject(obj, fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(obj, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("--obj %s: %w", obj, err)
	}
	if fi, err = f.Stat(); err == nil {
		err = regularObject(obj, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func regularObject(obj string, fi os.FileInfo) error {
	const fix = "give the path of the .o file clang built (`clang -O2 -g -target bpf -c prog.c -o prog.o`)"
	switch m := fi.Mode(); {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("%w: --obj %s is a directory: %s", ErrBadObject, obj, fix)
	default:
		return fmt.Errorf("%w: --obj %s is a %s, not a regular file: %s", ErrBadObject, obj, filekind.Of(m), fix)
	}
}

// Check compares a spec against what the lab needs and says, in words, what
// is missing or of the wrong kind.
func Check(spec *ebpf.CollectionSpec, want Want) error {
	var problems []string
	for _, name := range sortedKeys(want.Programs) {
		typ := want.Programs[name]
		p, ok := spec.Programs[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("no program named %q (have: %s); the lab expects a program of type %s with that function name", name, names(spec.Programs), typ))
		case p.Type != typ:
			problems = append(problems, fmt.Sprintf("program %q is of type %s, the lab expects %s (check its SEC() name)", name, p.Type, typ))
		}
	}
	for _, name := range sortedKeys(want.Maps) {
		shape := want.Maps[name]
		m, ok := spec.Maps[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("no map named %q (have: %s); the lab expects a map of type %s with that name", name, names(spec.Maps), shape.kinds()))
		case !shape.accepts(m.Type):
			problems = append(problems, fmt.Sprintf("map %q is of type %s, the lab expects %s", name, m.Type, shape.kinds()))
		case shape.KeySize != 0 && m.KeySize != shape.KeySize:
			problems = append(problems, fmt.Sprintf("map %q has %d-byte keys, the lab expects %d", name, m.KeySize, shape.KeySize))
		case shape.ValueSize != 0 && m.ValueSize != shape.ValueSize:
			problems = append(problems, fmt.Sprintf("map %q has %d-byte values, the lab expects %d", name, m.ValueSize, shape.ValueSize))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrBadObject, strings.Join(problems, "; "))
	}
	return nil
}

// Load loads a collection. A verifier rejection comes back with the whole
// verifier log, since that log is what tells the learner which line is wrong.
func Load(spec *ebpf.CollectionSpec) (*ebpf.Collection, error) {
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("the verifier rejected the program: %+v", ve)
		}
		return nil, fmt.Errorf("load BPF objects: %w", err)
	}
	return coll, nil
}

// AttachXDP attaches prog to iface inside ns (the ifindex is resolved there)
// and pins the link at pin, so the program stays attached after we exit.
func AttachXDP(ns *namespace.NS, iface string, prog *ebpf.Program, native bool, pin string) error {
	flags := link.XDPGenericMode
	mode := "generic"
	if native {
		flags, mode = link.XDPDriverMode, "native"
	}
	// Resolve the ifindex through the namespace's own netlink handle: /sys is
	// the root namespace's view and would name the wrong interface.
	l, err := ns.Netlink().LinkByName(iface)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
	}
	idx := l.Attrs().Index
	return ns.Do(func() error {
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: idx, Flags: flags})
		if err != nil {
			return fmt.Errorf("attach xdp (%s) to %s: %w", mode, iface, err)
		}
		defer l.Close()
		if err := l.Pin(pin); err != nil {
			return fmt.Errorf("pin xdp link of %s: %w", iface, err)
		}
		return nil
	})
}

// PinMaps pins the named maps of a collection under dir/<name>.
func PinMaps(coll *ebpf.Collection, dir string, names ...string) error {
	for _, n := range names {
		m, ok := coll.Maps[n]
		if !ok {
			return fmt.Errorf("pin map %s: not in collection", n)
		}
		if err := m.Pin(dir + "/" + n); err != nil {
			return fmt.Errorf("pin map %s: %w", n, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func names[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(m), ", ")
}
