package grade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/topology"
)

// XDPAction is what an XDP program returns for a frame.
type XDPAction uint32

// The XDP actions, as enum xdp_action numbers them.
const (
	XDPAborted XDPAction = iota
	XDPDrop
	XDPPass
	XDPTx
	XDPRedirect
)

func (a XDPAction) String() string {
	switch a {
	case XDPAborted:
		return "XDP_ABORTED"
	case XDPDrop:
		return "XDP_DROP"
	case XDPPass:
		return "XDP_PASS"
	case XDPTx:
		return "XDP_TX"
	case XDPRedirect:
		return "XDP_REDIRECT"
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
// and returns what it returned. It is evidence that live traffic cannot
// give: why a frame did not arrive (XDP_DROP, XDP_ABORTED, XDP_TX), or
// that a drop was XDP_DROP. The program runs for real, so the map updates
// it makes are made: call it outside a Measure whose delta is judged. The
// error means there was nothing to run (no program attached) or the
// kernel refused the run; a check then judges without this evidence.
func RunXDP(at topology.Place, frames [][]byte) (Verdicts, error) {
	p, ok, err := attached.XDP(at.NS, at.Iface)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no xdp program is attached to %s/%s", at.Node, at.Iface)
	}
	prog, err := ebpf.NewProgramFromID(p.ID)
	if err != nil {
		return nil, fmt.Errorf("open xdp program %d on %s/%s: %w", p.ID, at.Node, at.Iface, err)
	}
	defer prog.Close()
	out := make(Verdicts, 0, len(frames))
	for _, f := range frames {
		ret, err := prog.Run(&ebpf.RunOptions{Data: f})
		if err != nil {
			return out, fmt.Errorf("test run of xdp program %d on a %d-byte frame: %w", p.ID, len(f), err)
		}
		out = append(out, XDPAction(ret))
	}
	return out, nil
}
