// Package state records which labs an instance has up, in small JSON files
// under /run/xdplab, and serializes commands on one instance with a lock.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/provenance"
)

// DefaultDir is where state lives; /run is a tmpfs, so a reboot (which also
// drops every namespace and pin) forgets it too.
const DefaultDir = "/run/xdplab"

// Phase says how far `up` got.
type Phase string

const (
	// PhaseDeploying is written before anything is created, so a crash at any
	// later point leaves a record that `down` finds.
	PhaseDeploying Phase = "deploying"
	PhaseUp        Phase = "up"
)

// Lab is the record of one lab of one instance.
type Lab struct {
	Instance   string              `json:"instance"`
	Lab        string              `json:"lab"`
	Phase      Phase               `json:"phase"`
	Mode       string              `json:"mode"`
	Obj        string              `json:"obj,omitempty"` // absolute, so check from another directory finds it
	Src        string              `json:"src,omitempty"` // the C source (absolute) that up built Obj from
	Step       string              `json:"step,omitempty"`
	Bare       bool                `json:"bare,omitempty"` // topology only: the learner attaches
	Values     map[string][]string `json:"values,omitempty"`
	Namespaces []string            `json:"namespaces"`
	PinDir     string              `json:"pin_dir"`
	PID        int                 `json:"pid"`
	Created    time.Time           `json:"created"`
	// Attached and Pins are what a finished up left in place, so that check
	// and status can tell a lab damaged since (a deleted pin, a detached
	// program) from a learner's program that misbehaves.
	Attached []Attachment `json:"attached,omitempty"`
	Pins     []Pin        `json:"pins,omitempty"`
	// Topology is set for a playground (a topology from the user's file,
	// built with no lab): the whole spec, so that status, exec and down
	// need no file.
	Topology json.RawMessage `json:"topology,omitempty"`
	// Owner is who ran up; Origin is where the lab's program came from, as
	// it was when up loaded it (a playground has none). Records written
	// before xdplab kept them have neither.
	Owner  *provenance.User   `json:"owner,omitempty"`
	Origin *provenance.Origin `json:"origin,omitempty"`
	// LastCheck is the result of the latest check of the lab, for the
	// instructor's view of every instance (status --all-instances).
	LastCheck *Check `json:"last_check,omitempty"`
}

// Check is the outcome of one check of a lab.
type Check struct {
	// Verdict is pass, fail or error (the check could not run to its end).
	Verdict string `json:"verdict"`
	// Passed of Total expectations were met.
	Passed int `json:"passed"`
	Total  int `json:"total"`
	// Error is why a check could not run to its end.
	Error    string        `json:"error,omitempty"`
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration_ns"`
	// User ran the check.
	User string `json:"user"`
}

// Playground says whether the record is a playground's rather than a lab's.
func (l Lab) Playground() bool { return len(l.Topology) > 0 }

// Attachment is a program that up left attached: an XDP program on an
// interface (Node, Iface), or a program on a tracing hook of the whole
// machine (Hook, Target).
type Attachment struct {
	Node    string `json:"node"`
	Iface   string `json:"iface"`
	Program string `json:"program"`
	ProgID  uint32 `json:"prog_id"`
	// Hook is where a tracing program runs, as the kernel says of its link
	// ("tracepoint", "raw_tp", "tp_btf", "kprobe", "kretprobe"), and
	// Target what it is attached to there ("sys_enter_clone"); both empty
	// for an XDP program.
	Hook   string `json:"hook,omitempty"`
	Target string `json:"target,omitempty"`
}

// Where is an attachment's place: node/iface, or its hook and target.
func (a Attachment) Where() string {
	if a.Hook != "" {
		return a.Hook + " " + a.Target
	}
	return a.Node + "/" + a.Iface
}

// Pin kinds.
const (
	PinMap     = "map"
	PinProgram = "program"
	PinLink    = "link"
)

// Pin is an object that up left pinned in the lab's pin directory.
type Pin struct {
	// Name is the file name in the pin directory.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Object is the map's or program's own name; for a link, the name of
	// the program it attaches.
	Object string `json:"object,omitempty"`
	// ProgID is the program a link attaches.
	ProgID uint32 `json:"prog_id,omitempty"`
}

// Store reads and writes the state of one instance.
type Store struct {
	Dir      string
	Instance string
}

// ErrCorrupt marks a state file that cannot be parsed.
var ErrCorrupt = errors.New("corrupt state file")

// ErrLink marks a symbolic link found where xdplab keeps its files: the
// lock, a state file, the state or pin directories. Following one would make
// xdplab write or delete wherever it points.
var ErrLink = errors.New("xdplab does not follow symbolic links where it keeps its files")

func (s Store) dir() string { return filepath.Join(s.Dir, s.Instance) }

func (s Store) lockPath() string { return filepath.Join(s.dir(), "lock") }

// Path is the state file of a lab.
func (s Store) Path(lab string) string { return filepath.Join(s.dir(), lab+".json") }

// checkKind refuses a link, and a file of the wrong type, where xdplab
// expects its own directory (dir) or file.
func checkKind(what, path string, fi os.FileInfo, dir bool) error {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, _ := os.Readlink(path)
		return fmt.Errorf("%s %s is a symbolic link (to %s): %w; remove the link (`rm %s`) and run the command again", what, path, target, ErrLink, path)
	case dir && !fi.IsDir():
		return fmt.Errorf("%s %s is not a directory: move it away and run the command again", what, path)
	case !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%s %s is not a regular file: move it away and run the command again", what, path)
	}
	return nil
}

// CheckDir makes sure that path, if it exists, is a directory and not a
// symbolic link, so that nothing xdplab writes or deletes under it lands
// somewhere else.
func CheckDir(what, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return checkKind(what, path, fi, true)
}

// MakeDir creates a directory whose parent exists, unless it is there, and
// checks it as CheckDir does.
func MakeDir(what, path string) error {
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s %s: %w", what, path, err)
	}
	return CheckDir(what, path)
}

func (s Store) checkDirs() error {
	if err := CheckDir("state directory", s.Dir); err != nil {
		return err
	}
	return CheckDir("state directory", s.dir())
}

// MakeDirs creates dirs, each the parent of the next, as MakeDir does. The
// first is a root that instances share and that the last one to leave
// removes (RemoveIfEmpty, down's pin cleanup); when that happens between
// creating it and creating its child, the child's mkdir finds no parent,
// and the chain is made again rather than failing a command that merely
// started at that moment.
func MakeDirs(what string, dirs ...string) error {
	const attempts = 100 // each needs another instance to empty the root just then
	var err error
	for range attempts {
		if err = makeDirs(what, dirs); !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}

func makeDirs(what string, dirs []string) error {
	if len(dirs) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dirs[0]), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	for _, d := range dirs {
		if err := MakeDir(what, d); err != nil {
			return err
		}
	}
	return nil
}

func (s Store) makeDirs() error {
	return MakeDirs("state directory", s.Dir, s.dir())
}

// openNoFollow opens one of xdplab's files without following a link and
// without blocking on a FIFO, and makes sure it is a regular file.
func openNoFollow(what, path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		if fi, lerr := os.Lstat(path); lerr == nil {
			return nil, checkKind(what, path, fi, false)
		}
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkKind(what, path, fi, false)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Write saves a lab record atomically: a reader sees the old or the new file,
// never half of one. The record is on disk when Write returns, so a record
// written before creating something survives a crash right after.
func (s Store) Write(l Lab) error {
	if err := s.makeDirs(); err != nil {
		return err
	}
	if fi, err := os.Lstat(s.Path(l.Lab)); err == nil {
		// Renaming over a link would not follow it, but would hide from the
		// user that someone put a link there.
		if err := checkKind("state file", s.Path(l.Lab), fi, false); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := s.writeAtomic(l.Lab+".json", append(b, '\n')); err != nil {
		return fmt.Errorf("write state of %s: %w", l.Lab, err)
	}
	return nil
}

// writeAtomic replaces a file of the instance's directory by way of a
// temporary file that is synced and renamed, then syncs the directory: a
// process killed at any point leaves the old file or the new one, and a
// stray temporary file that RemoveStale deletes.
func (s Store) writeAtomic(name string, b []byte) error {
	if err := s.makeDirs(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir(), "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir(), name)); err != nil {
		return err
	}
	d, err := os.Open(s.dir())
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Read loads a lab record; os.ErrNotExist when there is none, ErrCorrupt
// (and an empty record) when it cannot be parsed, ErrLink for a link.
func (s Store) Read(lab string) (Lab, error) {
	var l Lab
	if err := s.checkDirs(); err != nil {
		return l, err
	}
	f, err := openNoFollow("state file", s.Path(lab), os.O_RDONLY)
	if err != nil {
		return l, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return l, fmt.Errorf("read state file %s: %w", s.Path(lab), err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		// Nothing of a corrupt record is believed, not even the fields that
		// parsed: its namespaces would vouch for placeholders.
		return Lab{}, fmt.Errorf("%w %s: %w", ErrCorrupt, s.Path(lab), err)
	}
	return l, nil
}

// Labs lists the labs that have a state file, sorted.
func (s Store) Labs() ([]string, error) {
	if err := s.checkDirs(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.dir())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read state directory: %w", err)
	}
	var labs []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			labs = append(labs, strings.TrimSuffix(n, ".json"))
		}
	}
	sort.Strings(labs)
	return labs, nil
}

// Instances lists the instances that have a state directory under dir,
// sorted. Anything else there (a link, a file) is not an instance of ours.
func Instances(dir string) ([]string, error) {
	if err := CheckDir("state directory", dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Remove deletes a lab's record; a missing one is fine.
func (s Store) Remove(lab string) error {
	if err := s.checkDirs(); err != nil {
		return err
	}
	if err := os.Remove(s.Path(lab)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove state of %s: %w", lab, err)
	}
	return nil
}

// Lock is an exclusive hold on an instance.
type Lock struct {
	f    *os.File
	path string
}

// ErrBusy is returned when another command keeps the instance locked longer
// than we are willing to wait.
var ErrBusy = errors.New("instance is busy")

// Lock waits (until ctx ends) for exclusive use of the instance, so two
// commands on one instance run one after the other instead of interleaving.
func (s Store) Lock(ctx context.Context) (*Lock, error) {
	path := s.lockPath()
	for {
		if err := s.makeDirs(); err != nil {
			return nil, err
		}
		f, err := openNoFollow("lock file", path, os.O_RDWR|os.O_CREATE)
		if errors.Is(err, os.ErrNotExist) {
			continue // the holder removed the directory just now
		}
		if err != nil {
			return nil, err // it names the lock file
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if err == nil || !errors.Is(err, unix.EWOULDBLOCK) {
				break
			}
			select {
			case <-ctx.Done():
				holder := holder(f)
				f.Close()
				return nil, fmt.Errorf("%w: another xdplab command (pid %s) holds %s; wait for it or stop it",
					ErrBusy, holder, path)
			case <-time.After(5 * time.Millisecond):
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// `down` removes the lock file when the instance is empty. If that
		// happened while we waited, we hold a lock on a deleted file: retry.
		var fst, pst syscall.Stat_t
		if syscall.Fstat(int(f.Fd()), &fst) == nil && syscall.Lstat(path, &pst) == nil && fst.Ino == pst.Ino {
			f.Truncate(0)
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			return &Lock{f: f, path: path}, nil
		}
		f.Close()
	}
}

// holder is the pid the lock's holder wrote into it.
func holder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	return strings.TrimSpace(string(b[:n]))
}

// Peek takes a shared hold on the instance without waiting, so that a reader
// (status, list) never sees a command half-way through. When another command
// holds the instance, busy is its pid and nothing is held. Either way the
// caller calls Unlock.
func (s Store) Peek() (l *Lock, busy string, err error) {
	if err := s.checkDirs(); err != nil {
		return nil, "", err
	}
	path := s.lockPath()
	f, err := openNoFollow("lock file", path, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return &Lock{}, "", nil // no command has run since the instance was last empty
	}
	if err != nil {
		return nil, "", err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return &Lock{}, holder(f), nil
		}
		return nil, "", fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, "", nil
}

// Unlock releases the instance.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// RemoveStale deletes temporary files of writes that a killed command never
// finished. Call it while holding the lock: then no write is in progress.
func (s Store) RemoveStale() {
	if s.checkDirs() != nil {
		return
	}
	stale, _ := filepath.Glob(filepath.Join(s.dir(), ".*.tmp"))
	for _, f := range stale {
		os.Remove(f)
	}
}

// RemoveIfEmpty deletes the instance's state directory (and its lock file)
// when no lab is recorded any more. Call it while holding the lock.
func (s Store) RemoveIfEmpty() error {
	labs, err := s.Labs()
	if err != nil || len(labs) > 0 {
		return err
	}
	s.RemoveStale()
	os.Remove(s.lockPath())
	if err := os.Remove(s.dir()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil // something else is in there; leave it
	}
	os.Remove(s.Dir) // only succeeds when no other instance has state
	return nil
}
