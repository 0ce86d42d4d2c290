package labs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/topology"
)

// A check sometimes has to change a running lab for a while: add a rule of
// its own, give a node an extra address, empty a map for a moment. A SIGKILL
// in that window must not leave the change behind, so the change goes
// through an undo journal: a record that says, as data, how to take it back
// is written (synced, atomically) before the change is made and deleted only
// after it is taken back. A record that a killed command left behind is
// replayed by the next command that takes the instance lock, before that
// command does anything else, through the same Undo the check itself uses.

// UndoRecord is one pending temporary change; Data is the lab's own
// description of it.
type UndoRecord = state.Undo

// Undoer is implemented by labs whose checks make temporary changes.
type Undoer interface {
	// Undo takes back the change a record describes. It must be idempotent:
	// it runs on a change that was made only in part, not at all, or already
	// taken back (a kill can come between any two steps). Parts that are
	// gone with their namespace or pin count as taken back.
	Undo(env *Env, rec UndoRecord) error
}

// WithUndo runs fn, which changes the lab for a while, under an undo record
// of the given kind holding data (JSON): the record is written before fn
// runs; afterwards u.Undo takes the change back, whatever fn returned, and
// the record is deleted once that succeeded. When the process dies before,
// the record stays for the next command to replay.
func (e *Env) WithUndo(u Undoer, kind string, data any, fn func() error) (err error) {
	if e.journal == nil {
		return fmt.Errorf("%s: a temporary change needs the instance's undo journal: open the lab through a labs.Runner", e.Lab)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("undo record of %s: %w", e.Lab, err)
	}
	rec := UndoRecord{Lab: e.Lab, Kind: kind, PID: os.Getpid(), Created: time.Now(), Data: b}
	if err := e.journal.WriteUndo(rec); err != nil {
		return err
	}
	defer func() {
		if uerr := u.Undo(e, rec); uerr != nil {
			err = errors.Join(err, fmt.Errorf("take back the check's temporary changes (the next xdplab command on instance %s retries): %w", e.Instance, uerr))
			return
		}
		err = errors.Join(err, e.journal.RemoveUndo(rec.Lab, rec.Kind))
	}()
	return fn()
}

// replay takes back the temporary changes of commands that were killed
// before they could, oldest first. Records of labs for which skip is true are
// left alone (down removes those labs, and the records with them).
func (r *Runner) replay(skip func(lab string) bool) error {
	st := r.store()
	recs, err := st.Undos()
	if err != nil {
		return Errorf(ErrEnvironment, "read undo records of instance %s: %w", r.Instance, err)
	}
	for _, rec := range recs {
		if skip != nil && skip(rec.Lab) {
			continue
		}
		if err := r.undo(rec); err != nil {
			return Errorf(ErrEnvironment, "an interrupted command left a temporary change in %s that could not be taken back: %w; %s removes the lab and the change with it",
				rec.Lab, err, r.Cmd("down "+rec.Lab))
		}
		if err := st.RemoveUndo(rec.Lab, rec.Kind); err != nil {
			return err
		}
		fmt.Fprintf(r.log(), "took back the temporary changes of an interrupted %s of %s (pid %d)\n", rec.Kind, rec.Lab, rec.PID)
	}
	return nil
}

// undo replays one record through its lab.
func (r *Runner) undo(rec UndoRecord) error {
	if rec.Err != nil {
		return rec.Err
	}
	lab, err := r.Registry.Get(rec.Lab)
	if err != nil {
		return err
	}
	u, ok := lab.(Undoer)
	if !ok {
		return fmt.Errorf("lab %s has no undo for a %q record", rec.Lab, rec.Kind)
	}
	res, err := topology.Resolve(lab.Info().Spec(), r.Instance, rec.Lab)
	if err != nil {
		return err
	}
	dep, err := res.Open()
	if err != nil {
		// A namespace of the lab is gone: the lab is half-removed, and the
		// change lives only in what is left of it, which nothing uses until
		// `up` or `down` removes it whole.
		return nil
	}
	defer dep.Close()
	// The lab's state file is not needed, so a damaged one does not keep a
	// change in place.
	env := &Env{Instance: r.Instance, Lab: rec.Lab, Topo: dep, PinDir: r.PinDir(rec.Lab), Log: r.log()}
	if st, err := r.store().Read(rec.Lab); err == nil && st.Bare {
		// The change is in the maps of the learner's program, if it still runs.
		env.Options.Bare = true
		findBare(env, lab.Info())
	}
	return u.Undo(env, rec)
}
