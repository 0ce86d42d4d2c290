package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// undoExt ends the name of an undo record; Labs ignores these files, which
// do not end in .json.
const undoExt = ".undo"

// Undo is the record of a temporary change to a running lab (a map entry, an
// address) that a command makes and takes back before it ends. It is written
// before the change, so that when the command is killed in between, the next
// command on the instance finds it and takes the change back.
type Undo struct {
	Lab     string          `json:"lab"`
	Kind    string          `json:"kind"`
	PID     int             `json:"pid"`
	Created time.Time       `json:"created"`
	Data    json.RawMessage `json:"data"` // the lab's own description of the change
	// Err is set by Undos when the record cannot be read (damaged by hand).
	Err error `json:"-"`
}

// UndoPath is the file of a lab's undo record of one kind: at most one
// change of a kind is pending per lab, as commands on an instance run one at
// a time.
func (s Store) UndoPath(lab, kind string) string {
	return filepath.Join(s.dir(), lab+"."+kind+undoExt)
}

// WriteUndo saves an undo record atomically and durably, before the change
// it describes is made.
func (s Store) WriteUndo(u Undo) error {
	if u.Lab == "" || u.Kind == "" || strings.ContainsAny(u.Lab+u.Kind, "./") {
		return fmt.Errorf("undo record of lab %q, kind %q: lab and kind must be plain names", u.Lab, u.Kind)
	}
	b, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return err
	}
	if err := s.writeAtomic(filepath.Base(s.UndoPath(u.Lab, u.Kind)), append(b, '\n')); err != nil {
		return fmt.Errorf("write undo record of %s: %w", u.Lab, err)
	}
	return nil
}

// Undos lists the pending undo records, oldest first. A record that cannot
// be read is returned with Err set, its Lab and Kind taken from its name.
func (s Store) Undos() ([]Undo, error) {
	paths, err := filepath.Glob(filepath.Join(s.dir(), "*"+undoExt))
	if err != nil {
		return nil, err
	}
	var out []Undo
	for _, p := range paths {
		lab, kind, _ := strings.Cut(strings.TrimSuffix(filepath.Base(p), undoExt), ".")
		u := Undo{Lab: lab, Kind: kind}
		b, err := readNoFollow("undo record", p)
		if err == nil {
			err = json.Unmarshal(b, &u)
		}
		if err == nil && (u.Lab != lab || u.Kind != kind) {
			err = fmt.Errorf("it describes %s.%s", u.Lab, u.Kind)
		}
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			u = Undo{Lab: lab, Kind: kind, Err: fmt.Errorf("%w %s: %w", ErrCorrupt, p, err)}
		}
		out = append(out, u)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// RemoveUndo deletes an undo record once its change is taken back; a
// missing one is fine.
func (s Store) RemoveUndo(lab, kind string) error {
	if err := os.Remove(s.UndoPath(lab, kind)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove undo record of %s: %w", lab, err)
	}
	return nil
}

// RemoveUndos deletes every undo record of a lab, or of the whole instance
// when lab is "": for labs that are being removed, whose changes go with them.
func (s Store) RemoveUndos(lab string) error {
	pattern := "*" + undoExt
	if lab != "" {
		pattern = lab + ".*" + undoExt
	}
	paths, _ := filepath.Glob(filepath.Join(s.dir(), pattern))
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove undo record: %w", err))
		}
	}
	return errors.Join(errs...)
}

// readNoFollow reads one of xdplab's files the way openNoFollow opens it.
func readNoFollow(what, path string) ([]byte, error) {
	f, err := openNoFollow(what, path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
