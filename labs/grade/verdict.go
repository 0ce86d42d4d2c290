package grade

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/topology"
)

// XDPAction is what an XDP program returns for a frame: capture.Action's
// numbers (enum xdp_action), named as C spells them.
type XDPAction capture.Action

// The XDP actions, as enum xdp_action numbers them.
const (
	XDPAborted  = XDPAction(capture.Aborted)
	XDPDrop     = XDPAction(capture.Drop)
	XDPPass     = XDPAction(capture.Pass)
	XDPTx       = XDPAction(capture.TX)
	XDPRedirect = XDPAction(capture.Redirect)
)

func (a XDPAction) String() string {
	if slices.Contains(capture.XDPActions, capture.Action(a)) {
		return ActionName(capture.Action(a))
	}
	return fmt.Sprintf("action %d", uint32(a))
}

// Verdicts are the actions an XDP program returned for a step's frames,
// one per frame, in the order of the frames.
type Verdicts []XDPAction

// All reports whether every frame got a, and there was at least one.
func (v Verdicts) All(a XDPAction) bool {
	return len(v) > 0 && !slices.ContainsFunc(v, func(x XDPAction) bool { return x != a })
}

// Not is the first action other than a, and whether there is one.
func (v Verdicts) Not(a XDPAction) (XDPAction, bool) {
	for _, x := range v {
		if x != a {
			return x, true
		}
	}
	return a, false
}

// String is "XDP_DROP" when every frame got the same action, else
// "XDP_DROP for 2, XDP_PASS for 1" (in the order of enum xdp_action), or
// "no frame".
func (v Verdicts) String() string {
	if len(v) == 0 {
		return "no frame"
	}
	counts := map[XDPAction]int{}
	for _, a := range v {
		counts[a]++
	}
	if len(counts) == 1 {
		return v[0].String()
	}
	keys := make([]XDPAction, 0, len(counts))
	for a := range counts {
		keys = append(keys, a)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, a := range keys {
		parts[i] = fmt.Sprintf("%s for %d", a, counts[a])
	}
	return strings.Join(parts, ", ")
}

// RunXDP runs the XDP program attached to at's interface (the lab's or a
// learner's own, in whichever mode) on each frame with BPF_PROG_TEST_RUN
// (see Verdict) and returns what it returned. It is evidence that live
// traffic cannot give: why a frame did not arrive (XDP_DROP, XDP_ABORTED,
// XDP_TX), or that a drop was XDP_DROP. The program runs for real, so the
// map updates it makes are made: call it outside a Measure whose delta is
// judged. The error means there was nothing to run (no program attached)
// or the kernel refused the run; a check then judges without this evidence.
func RunXDP(at topology.Place, frames [][]byte) (Verdicts, error) {
	out := make(Verdicts, 0, len(frames))
	for _, f := range frames {
		a, err := Verdict(at, f)
		if err != nil {
			return out, err
		}
		out = append(out, XDPAction(a))
	}
	return out, nil
}

// ActionName is an XDP action as C spells it, "XDP_ABORTED": what a
// learner wrote, or should have written, in the program.
func ActionName(a capture.Action) string {
	if slices.Contains(capture.XDPActions, a) {
		return "XDP_" + strings.ToUpper(a.String())
	}
	return fmt.Sprintf("action %d (not an XDP action: the kernel treats it as XDP_ABORTED)", uint32(a))
}

// Verdict runs the XDP program attached at p on a copy of frame
// (BPF_PROG_TEST_RUN) and returns its action: evidence of what the program
// did to a packet that never arrived, which no witness past XDP can give.
// XDP_ABORTED and XDP_DROP look the same from outside; this tells them
// apart. A test run writes to the program's real maps and perf rings, so a
// check runs it only once it has read them.
func Verdict(p topology.Place, frame []byte) (capture.Action, error) {
	found, ok, err := attached.XDP(p.NS, p.Iface)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("no XDP program is attached to %s/%s", p.Node, p.Iface)
	}
	prog, err := ebpf.NewProgramFromID(found.ID)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("program %s at %s/%s: %w", found, p.Node, p.Iface, attached.ErrGone)
	}
	if err != nil {
		return 0, fmt.Errorf("open program %s at %s/%s: %w", found, p.Node, p.Iface, err)
	}
	defer prog.Close()
	ret, err := prog.Run(&ebpf.RunOptions{Data: frame})
	if err != nil {
		return 0, fmt.Errorf("test run of %s at %s/%s: %w", found, p.Node, p.Iface, err)
	}
	return capture.Action(ret), nil
}

// FirstNotPassed runs the program attached at p on each frame in turn (see
// Verdict) and returns the index and action of the first frame it does not
// pass, or -1 when it passes them all.
func FirstNotPassed(p topology.Place, frames [][]byte) (int, capture.Action, error) {
	for i, f := range frames {
		a, err := Verdict(p, f)
		if err != nil {
			return -1, 0, err
		}
		if a != capture.Pass {
			return i, a, nil
		}
	}
	return -1, capture.Pass, nil
}
