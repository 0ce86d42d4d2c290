package icmpdrop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// The intro shows ping answering before the program is attached and
// failing after. The check shows the first half by running xdp_pass in
// the program's place for a moment: the pinned link takes the stand-in and
// then the program back (a bpf_link swaps programs atomically and keeps
// its interface, mode and pin), under an undo record, so that a check
// killed in between leaves the lab to be put right by the next command.

// undoKind names the check's undo record.
const undoKind = "check"

// swapped out is the check's temporary change, as its undo record holds it.
type swappedOut struct {
	// Iface is node1's interface whose link runs xdp_pass instead of the
	// program.
	Iface string `json:"iface"`
}

// standIn puts xdp_pass into l in the program's place.
func standIn(l link.Link) error {
	for _, attach := range []ebpf.AttachType{ebpf.AttachXDP, ebpf.AttachNone} {
		pass, err := grade.PassProgram(attach)
		if err != nil {
			return err
		}
		err = l.Update(pass)
		pass.Close() // the link holds its own reference
		if !errors.Is(err, unix.EINVAL) {
			return err
		}
	}
	return fmt.Errorf("the link refuses xdp_pass in both attach types: %w", unix.EINVAL)
}

// withoutProgram pings through node1's interface with xdp_pass in the
// program's place: the pings must be answered, since the lab's network
// works without the program. The program goes back whatever happens. A
// bare lab has no pinned link: the learner's loader holds the attachment,
// which the check leaves alone, so this is skipped there.
func (l *Lab) withoutProgram(ctx context.Context, c *checker) (labs.Result, error) {
	name := fmt.Sprintf("without %s, %d pings %s are answered", progName, pings, c.via())
	expected := fmt.Sprintf("%d replies", pings)
	if c.env.Options.Bare {
		return labs.Skip(name, expected,
			"in a bare lab your loader holds the attachment, and the check does not take your program off to see the network work without it; a lab up without --bare (with --obj for your object) checks this too"), nil
	}
	pin := c.env.Pin(linkPin(c.ex.iface))
	lnk, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		return labs.Result{}, labs.Errorf(labs.ErrEnvironment, "open the xdp link of node1/%s (%s): %w: %s", c.ex.iface, pin, err, c.env.RebuildFix())
	}
	defer lnk.Close()
	var p grade.Pinged
	err = c.env.WithUndo(l, undoKind, swappedOut{Iface: c.ex.iface}, func() error {
		if err := standIn(lnk); err != nil {
			return fmt.Errorf("put xdp_pass in %s's place on node1/%s: %w", progName, c.ex.iface, err)
		}
		var err error
		p, err = grade.Pings(ctx, c.pinger, c.target, pings)
		return err
	})
	if err != nil {
		return labs.Result{}, err
	}
	hint := fmt.Sprintf("with no program on node1/%s the pings must be answered; this failing means the lab's network is broken, not your program: %s",
		c.ex.iface, c.env.RebuildFix())
	if h := p.NotSentHint(c.env); h != "" {
		hint = h
	}
	return grade.PingsAnswered(name, p, hint), nil
}

// Undo puts the program back into its link, in any state a kill left the
// swap: done, not done or undone. A link or program pin that is gone took
// the change with it.
func (*Lab) Undo(env *labs.Env, rec labs.UndoRecord) error {
	var s swappedOut
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return fmt.Errorf("undo record of the check: %w", err)
	}
	if env.Options.Bare {
		return nil // the check swaps nothing in a bare lab
	}
	lnk, err := link.LoadPinnedLink(env.Pin(linkPin(s.Iface)), nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open the xdp link of node1/%s: %w", s.Iface, err)
	}
	defer lnk.Close()
	prog, err := ebpf.LoadPinnedProgram(env.Pin(progPin), nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open pinned program %s: %w", progName, err)
	}
	defer prog.Close()
	if err := lnk.Update(prog); err != nil {
		return fmt.Errorf("put %s back on node1/%s: %w", progName, s.Iface, err)
	}
	return nil
}
