package xdpcap

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/labs"
)

// Diagnose reports what killed captures (or a killed `check xdpcap`, which
// captures too) left at the lab's capture points: their programs in hook
// slots, their front program on the link, a next_prog pin nothing uses.
// The lab program keeps deciding (a dead front program still tail-calls it
// through the pinned next_prog), but a leftover makes the lab look busy and
// shows in `bpftool`. Running captures are not problems.
func (l *Lab) Diagnose(env *labs.Env) []labs.Problem {
	hook, entry := l.CapturePoints(env.PinDir)
	occ, err := capture.Inspect(hook, &entry)
	if err != nil {
		flag := labs.InstanceFlag(env.Instance)
		return []labs.Problem{{
			What: fmt.Sprintf("the lab's capture points cannot be read: %v", err),
			Fix:  fmt.Sprintf("xdplab down %s%s && xdplab up %s%s", labName, flag, labName, flag),
		}}
	}
	fix := fmt.Sprintf("xdplab capture %s --clear-stale%s", labName, labs.InstanceFlag(env.Instance))
	var problems []labs.Problem
	for _, h := range occ.Stale() {
		what := fmt.Sprintf("stale capture program: %s holds %s; every packet of that action still runs it", h.Place, h)
		if h.Place == capture.LinkPlace {
			what = fmt.Sprintf("stale capture program: %s runs %s in front of the lab program, which still runs behind it through next_prog", h.Place, h)
		}
		problems = append(problems, labs.Problem{What: what, Fix: fix})
	}
	if p, ok := emptyChain(env); ok {
		problems = append(problems, p)
	}
	if occ.NextProg != "" {
		problems = append(problems, labs.Problem{
			What: fmt.Sprintf("stale pin: %s is left by a killed `capture --entry`; no front program uses it", occ.NextProg),
			Fix:  fix,
		})
	}
	return problems
}

// inUse is the error of a check that cannot run because a capture holds a
// place the check captures at itself (every hook slot and the lab's link,
// one capture at a time each), or nil. The check stops before it touches
// anything, so the learner's capture goes on unharmed.
func inUse(env *labs.Env, hook string, entry *capture.EntryPoint) error {
	occ, err := capture.Inspect(hook, entry)
	if err != nil {
		// The check's own captures open the same pins and report it.
		return nil
	}
	var ours, foreign []string
	seen := map[int]bool{}
	for _, h := range occ.Live() {
		switch {
		case h.PID != 0 && !seen[h.PID]:
			seen[h.PID] = true
			who := fmt.Sprintf("pid %d", h.PID)
			if h.Command != "" {
				who += ": " + h.Command
			}
			ours = append(ours, who)
		case h.PID == 0 && h.Place != capture.LinkPlace:
			foreign = append(foreign, fmt.Sprintf("%s holds %s", h.Place, h))
		}
	}
	rerun := fmt.Sprintf("`xdplab check %s%s`", labName, labs.InstanceFlag(env.Instance))
	switch {
	case len(ours) == 1:
		return labs.Errorf(labs.ErrEnvironment, "the xdpcap hook is in use by a capture (%s): the check captures at every hook slot and on the lab's link itself, and each takes one capture at a time; stop that capture (Ctrl-C in its terminal) and re-run %s",
			ours[0], rerun)
	case len(ours) > 1:
		return labs.Errorf(labs.ErrEnvironment, "the xdpcap hook is in use by %d captures (%s): the check captures at every hook slot and on the lab's link itself, and each takes one capture at a time; stop them (Ctrl-C in their terminals) and re-run %s",
			len(ours), strings.Join(ours, "; "), rerun)
	case len(foreign) > 0:
		return labs.Errorf(labs.ErrEnvironment, "the xdpcap hook is in use by a program xdplab did not load (%s): another capture tool (cloudflare's xdpcap?) is using it; stop that tool and re-run %s",
			strings.Join(foreign, "; "), rerun)
	}
	return nil
}

// emptyChain is the problem of a chain-step lab whose jmp_table slot does
// not hold xdp_udp (a check killed while it had emptied it, before the
// next command put it back): every UDP datagram then goes to XDP_ABORTED.
func emptyChain(env *labs.Env) (labs.Problem, bool) {
	if env.Options.Step != stepChain {
		return labs.Problem{}, false
	}
	jmp, err := ebpf.LoadPinnedMap(env.Pin(chainMap), nil)
	if err != nil {
		return labs.Problem{What: fmt.Sprintf("%s cannot be read: %v", chainMap, err), Fix: env.RebuildFix()}, true
	}
	defer jmp.Close()
	var id uint32
	if err := jmp.Lookup(uint32(chainSlot), &id); err == nil && id != 0 {
		return labs.Problem{}, false
	}
	return labs.Problem{
		What: fmt.Sprintf("%s[%d] is empty: xdp_discard's tail call fails, and every UDP datagram goes to XDP_ABORTED", chainMap, chainSlot),
		Fix:  fmt.Sprintf("any xdplab command on the instance puts %s back if a killed check left it so (%s); otherwise %s", chainProg, labs.Cmd(env.Instance, "check "+labName), env.RebuildFix()),
	}, true
}
