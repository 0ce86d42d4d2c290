package labs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/topology"
)

// The conditions a lab can be in, as `list` and `status` show them.
const (
	CondUp      = "up"
	CondDown    = "down"
	CondDamaged = "damaged" // things of the lab exist that its state file does not account for
	CondBusy    = "busy"    // another command is changing the instance right now
)

// Condition is how one lab of an instance stands, judged from what is really
// there (xdplab's namespaces of the lab and its pins) as well as from its
// state file, which a crash or a hand can have damaged or removed.
type Condition struct {
	Lab   string
	State string
	// Record is the lab's state file, nil when it is missing or unreadable.
	Record *state.Lab
	// Namespaces are the lab's namespaces that exist and carry our mark.
	Namespaces []string
	// Pins are the names in the lab's pin directory.
	Pins []string
	// Problem says, for a damaged lab, what is wrong and what fixes it.
	Problem *Problem
	// Holder is the pid of the command that holds a busy instance.
	Holder string
	// Playground marks a topology built from the user's file with no lab;
	// Summary counts its nodes and links.
	Playground bool
	Summary    string
}

// Conditions judges every lab of the registry and every lab with a state
// file. It takes a shared hold on the instance, so no command is half-way
// through while it looks; when one is, labs that are not plainly up are busy.
// Without root, namespaces cannot be looked into: then the state files are
// believed about them.
func (r *Runner) Conditions() ([]Condition, error) {
	st := r.store()
	hold, busy, err := st.Peek()
	if err != nil {
		return nil, Errorf(ErrEnvironment, "%w", err)
	}
	defer hold.Unlock()
	recorded, err := st.Labs()
	if err != nil {
		return nil, Errorf(ErrEnvironment, "%w", err)
	}
	names := r.Registry.Names()
	for _, l := range recorded {
		if !slices.Contains(names, l) {
			names = append(names, l)
		}
	}
	var conds []Condition
	for _, n := range names {
		c, err := r.condition(n, busy)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	return conds, nil
}

func (r *Runner) condition(name, busy string) (Condition, error) {
	c := Condition{Lab: name, State: CondDown}
	st := r.store()
	rec, rerr := st.Read(name)
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) && !errors.Is(rerr, state.ErrCorrupt) {
		return c, Errorf(ErrEnvironment, "%w", rerr)
	}
	if rerr == nil {
		c.Record = &rec
		if rec.Playground() {
			c.Playground = true
			if res, err := r.playgroundTopology(rec); err == nil {
				c.Summary = res.Spec.Summary()
			}
		}
	}
	if err := r.checkPinDirs(name); err != nil {
		return c, Errorf(ErrEnvironment, "%w", err)
	}
	pinDir, hasPinDir := r.PinDir(name), pathExists(r.PinDir(name))
	if entries, err := os.ReadDir(pinDir); err == nil {
		for _, e := range entries {
			c.Pins = append(c.Pins, e.Name())
		}
	}
	canLook := os.Geteuid() == 0
	if canLook {
		owned, _, err := topology.Owned(r.Instance, name, rec.Namespaces)
		if err != nil {
			return c, Errorf(ErrEnvironment, "%w", err)
		}
		for _, e := range owned {
			if e.Kind == namespace.Mounted {
				c.Namespaces = append(c.Namespaces, e.Name)
			}
		}
	}

	var why string
	switch {
	case rerr == nil && rec.Phase == state.PhaseUp:
		var gone []string
		for _, n := range rec.Namespaces {
			if canLook && !slices.Contains(c.Namespaces, n) {
				gone = append(gone, n)
			}
		}
		if len(gone) == 0 {
			c.State = CondUp
			return c, nil
		}
		why = fmt.Sprintf("its state file %s says it is up, but namespace %s is gone (or is not xdplab's)", st.Path(name), strings.Join(gone, ", "))
	case rerr == nil:
		why = fmt.Sprintf("its state file %s says an `up` (pid %d) never finished (phase %s)", st.Path(name), rec.PID, rec.Phase)
	case errors.Is(rerr, os.ErrNotExist):
		if len(c.Namespaces) == 0 && !hasPinDir {
			return c, nil // down
		}
		why = fmt.Sprintf("its state file %s is missing", st.Path(name))
	default:
		why = fmt.Sprintf("its state file cannot be read (%v)", rerr)
	}
	if busy != "" {
		c.State, c.Holder = CondBusy, busy
		return c, nil
	}
	var left []string
	if len(c.Namespaces) > 0 {
		left = append(left, "namespaces "+strings.Join(c.Namespaces, ", "))
	}
	if hasPinDir {
		left = append(left, fmt.Sprintf("%d pins in %s", len(c.Pins), pinDir))
	}
	if len(left) == 0 {
		left = append(left, "nothing but the state file")
	}
	fix := r.Cmd("down "+name) + " removes what is left"
	if _, err := r.Registry.Get(name); err == nil {
		fix = r.Cmd("down "+name) + ", then " + r.Cmd("up "+name)
	}
	c.State = CondDamaged
	c.Problem = &Problem{
		What: fmt.Sprintf("state damaged: %s; still there: %s", why, strings.Join(left, "; ")),
		Fix:  fix,
	}
	return c, nil
}
