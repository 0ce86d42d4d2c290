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
