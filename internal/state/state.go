// Package state records which labs an instance has up, in small JSON files
// under /run/xdplab, and serializes commands on one instance with a lock.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	Obj        string              `json:"obj,omitempty"`
	Values     map[string][]string `json:"values,omitempty"`
	Namespaces []string            `json:"namespaces"`
	PinDir     string              `json:"pin_dir"`
	PID        int                 `json:"pid"`
	Created    time.Time           `json:"created"`
}

// Store reads and writes the state of one instance.
type Store struct {
	Dir      string
	Instance string
}

// ErrCorrupt marks a state file that cannot be parsed.
var ErrCorrupt = errors.New("corrupt state file")

func (s Store) dir() string { return filepath.Join(s.Dir, s.Instance) }

// Path is the state file of a lab.
func (s Store) Path(lab string) string { return filepath.Join(s.dir(), lab+".json") }

// Write saves a lab record atomically: a reader sees the old or the new file,
// never half of one.
func (s Store) Write(l Lab) error {
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
	if err := os.MkdirAll(s.dir(), 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
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

// Read loads a lab record; os.ErrNotExist when there is none.
func (s Store) Read(lab string) (Lab, error) {
	var l Lab
	b, err := os.ReadFile(s.Path(lab))
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("%w %s: %w", ErrCorrupt, s.Path(lab), err)
	}
	return l, nil
}

// Labs lists the labs that have a state file, sorted.
func (s Store) Labs() ([]string, error) {
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

// Remove deletes a lab's record; a missing one is fine.
func (s Store) Remove(lab string) error {
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
	path := filepath.Join(s.dir(), "lock")
	for {
		if err := os.MkdirAll(s.dir(), 0o755); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if errors.Is(err, os.ErrNotExist) {
			continue // the holder removed the directory just now
		}
		if err != nil {
			return nil, fmt.Errorf("open lock %s: %w", path, err)
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if err == nil || !errors.Is(err, unix.EWOULDBLOCK) {
				break
			}
			select {
			case <-ctx.Done():
				holder, _ := os.ReadFile(path)
				f.Close()
				return nil, fmt.Errorf("%w: another xdplab command (pid %s) holds %s; wait for it or stop it",
					ErrBusy, strings.TrimSpace(string(holder)), path)
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
		if syscall.Fstat(int(f.Fd()), &fst) == nil && syscall.Stat(path, &pst) == nil && fst.Ino == pst.Ino {
			f.Truncate(0)
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			return &Lock{f: f, path: path}, nil
		}
		f.Close()
	}
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
	os.Remove(filepath.Join(s.dir(), "lock"))
	if err := os.Remove(s.dir()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil // something else is in there; leave it
	}
	os.Remove(s.Dir) // only succeeds when no other instance has state
	return nil
}
