package capture

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/attached"
)

// Errors a caller may want to tell apart.
var (
	// ErrNotHook: the pin is not a PROG_ARRAY of the xdpcap shape.
	ErrNotHook = errors.New("not an xdpcap hook")
	// ErrBusy: a slot we need is already held by another capture.
	ErrBusy = errors.New("hook in use")
)

// kindError lets errors.Is match a sentinel without its text in the
// message: the sentence alone is what the learner reads.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

// hookShape is what an xdpcap hook looks like, for error messages.
const hookShape = "an xdpcap hook is a ProgramArray (BPF_MAP_TYPE_PROG_ARRAY) with 4-byte keys and values and one slot per XDP action (5 entries), as xdpcap's hook.h declares it"

// OpenHook opens a pinned xdpcap hook and checks its shape: a PROG_ARRAY with
// 4-byte keys and values and a slot per XDP action (5, or 4 for hooks made
// with xdpcap's older hook.h that had no XDP_REDIRECT slot).
func OpenHook(path string) (*ebpf.Map, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, errorf(ErrNotHook, "no xdpcap hook at %s (%w): a program pins its hook on bpffs, e.g. /sys/fs/bpf/xdplab/<instance>/xdpcap/xdpcap_hook while the xdpcap lab is up", path, err)
	}
	m, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		return nil, errorf(ErrNotHook, "%s is not a pinned map, so it is not an xdpcap hook (%w); the hook is the PROG_ARRAY the program passes to xdpcap_exit", path, err)
	}
	if err := checkHook(path, m); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func checkHook(path string, m *ebpf.Map) error {
	switch {
	case m.Type() != ebpf.ProgramArray:
		return errorf(ErrNotHook, "%s is a map of type %s, not an xdpcap hook: expected ProgramArray, have %s; capture programs can only be chained in through a PROG_ARRAY, which bpf_tail_call jumps through (%s)",
			path, m.Type(), m.Type(), hookShape)
	case m.KeySize() != 4 || m.ValueSize() != 4:
		return errorf(ErrNotHook, "%s has %d-byte keys and %d-byte values, not an xdpcap hook (%s)", path, m.KeySize(), m.ValueSize(), hookShape)
	case m.MaxEntries() < 4 || m.MaxEntries() > 5:
		return errorf(ErrNotHook, "%s has %d entries, so its slots cannot be the XDP actions (%s)", path, m.MaxEntries(), hookShape)
	}
	return nil
}

// Names of the programs we load: the pid says whose they are, so a slot held
// by a capture that was killed (SIGKILL skips our cleanup) can be told apart
// from one another capture holds right now. Program names have at most 15
// characters; pids at most 7 digits.
const (
	exitProgPrefix  = "xdpcap_"
	entryProgPrefix = "xdpdump_"
)

func progName(prefix string) string { return prefix + strconv.Itoa(os.Getpid()) }

// Holder is a program in one of the places a capture takes: a hook slot,
// or the lab's link in the lab program's stead (--entry).
type Holder struct {
	// Place is "hook slot drop" or "the lab's link".
	Place string
	ID    ebpf.ProgramID
	Name  string
	// PID is the process whose capture program it is (its name carries
	// the pid); 0 when it is not a program of ours.
	PID int
	// Stale: that process is gone (SIGKILL skips a capture's cleanup), or
	// the pid now belongs to a process that does not hold the program.
	Stale bool
	// Command is the live process's command line, for messages.
	Command string
}

func (h Holder) String() string {
	switch {
	case h.PID != 0 && h.Stale:
		return fmt.Sprintf("program %d (%s, left by xdplab capture pid %d, which is gone)", h.ID, h.Name, h.PID)
	case h.PID != 0:
		return fmt.Sprintf("program %d (%s, of xdplab capture pid %d)", h.ID, h.Name, h.PID)
	}
	name := h.Name
	if name == "" {
		name = "no name"
	}
	return fmt.Sprintf("program %d (%s)", h.ID, name)
}

func describe(place string, id ebpf.ProgramID, prefixes ...string) Holder {
	h := Holder{Place: place, ID: id}
	p, err := ebpf.NewProgramFromID(id)
	if err != nil {
		return h
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		return h
	}
	h.Name = info.Name
	for _, prefix := range prefixes {
		rest, ok := strings.CutPrefix(info.Name, prefix)
		if !ok {
			continue
		}
		if pid, err := strconv.Atoi(rest); err == nil && pid > 0 {
			h.PID = pid
			h.Stale = !alive(pid) || !holds(pid, id)
			if !h.Stale {
				h.Command = commandLine(pid)
			}
		}
	}
	return h
}

// alive reports whether a process exists (EPERM means it does, as someone
// else's).
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// holds reports whether a process has a file descriptor for the program: a
// capture keeps one for each program it put in place until it has taken
// them out again. A pid reused by an unrelated process has none, so the
// program is a leftover all the same. When /proc cannot say, the answer is
// yes: a running capture must never be mistaken for a dead one.
func holds(pid int, id ebpf.ProgramID) bool {
	fds, err := attached.FDs(pid)
	if err != nil {
		return true
	}
	return slices.ContainsFunc(fds, func(fd attached.FD) bool { return fd.ProgID == id })
}

// commandLine is a process's command line as ps shows it, with the
// program's base name ("xdplab capture xdpcap --entry"), or "" if unknown.
func commandLine(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return ""
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	args[0] = filepath.Base(args[0])
	return strings.Join(args, " ")
}

// slotOwner returns who holds a hook slot, or ok=false when it is empty.
func slotOwner(hook *ebpf.Map, a Action) (Holder, bool, error) {
	var id uint32
	err := hook.Lookup(uint32(a), &id)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, fmt.Errorf("read hook slot %s: %w", a, err)
	}
	return describe("hook slot "+a.String(), ebpf.ProgramID(id), exitProgPrefix), true, nil
}

// claimable checks that every slot we need is free. Slots left by a killed
// xdplab capture are emptied, whichever they are (and reported through
// note); any other holder of a slot we need means another capture is
// running, and we refuse rather than take its slot away from it.
func claimable(hook *ebpf.Map, path string, actions []Action, note func(string)) error {
	for a := Action(0); uint32(a) < hook.MaxEntries(); a++ {
		o, held, err := slotOwner(hook, a)
		if err != nil {
			return err
		}
		if !held {
			continue
		}
		if o.Stale {
			if err := hook.Delete(uint32(a)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return fmt.Errorf("empty stale hook slot %s: %w", a, err)
			}
			note(fmt.Sprintf("emptied hook slot %s: it held %s", a, o))
			continue
		}
		if slices.Contains(actions, a) {
			return errorf(ErrBusy, "slot %s of hook %s already holds %s: another capture (xdplab capture or cloudflare's xdpcap) is using this hook; a slot holds one capture at a time, so stop that one first",
				a, path, o)
		}
	}
	return nil
}

// insert puts prog into the hook slot of its action. The kernel refuses a
// program that is not compatible with the PROG_ARRAY's owner, the first
// program that used the array (the lab program): tail calls only go between
// programs of the same type and the same xdp.frags flag, both JIT-compiled
// or both interpreted.
func insert(hook *ebpf.Map, a Action, prog *ebpf.Program) error {
	if err := hook.Put(uint32(a), prog); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("put capture program in hook slot %s: %w: the kernel refused it as a tail-call target of this hook's owner program; a tail-called program must match the program that first used the PROG_ARRAY: same type (XDP), same xdp.frags flag, same JIT state", a, err)
		}
		return fmt.Errorf("put capture program in hook slot %s: %w", a, err)
	}
	return nil
}

// release empties a slot, but only while it still holds our program.
func release(hook *ebpf.Map, a Action, prog *ebpf.Program) error {
	info, err := prog.Info()
	if err != nil {
		return fmt.Errorf("release hook slot %s: %w", a, err)
	}
	ours, _ := info.ID()
	var id uint32
	if err := hook.Lookup(uint32(a), &id); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		return fmt.Errorf("release hook slot %s: %w", a, err)
	}
	if ebpf.ProgramID(id) != ours {
		return nil
	}
	if err := hook.Delete(uint32(a)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("empty hook slot %s: %w", a, err)
	}
	return nil
}
