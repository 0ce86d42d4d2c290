package icmpdrop

import (
	"fmt"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/labs"
)

// ownLo expects the machine's own lo to run no program of the lab: the
// intro attaches icmp_drop to the host's lo, the lab to node1's only. It
// reads, in the namespace xdplab runs in, what runs on lo, and calls it
// the lab's when it is graded (the program at node1's interface) itself, a
// program with its instructions (its tag: the same object loaded again),
// or one with the text's name. Some other program there is not the lab's
// doing, and is shown as it is.
func ownLo(env *labs.Env, graded attached.Program) (labs.Result, error) {
	ns, err := namespace.OpenOwn()
	if err != nil {
		return labs.Result{}, labs.Errorf(labs.ErrEnvironment, "look at the machine's own lo: %w", err)
	}
	defer ns.Close()
	return judgeLo(ns, graded, exercises[env.Options.Step].iface)
}

// judgeLo is ownLo's judgement of the lo of ns, where the program graded
// runs on node1's iface.
func judgeLo(ns *namespace.NS, graded attached.Program, iface string) (labs.Result, error) {
	name := "the machine's own lo runs no program of the lab"
	expected := "no XDP program named " + progName + ", none with its instructions"
	p, ok, err := attached.XDP(ns, "lo")
	if err != nil {
		return labs.Result{}, labs.Errorf(labs.ErrEnvironment, "look at the machine's own lo: %w", err)
	}
	if !ok {
		return labs.Assert(name, true, expected, "no XDP program", ""), nil
	}
	ours := p.ID == graded.ID || p.Tag == graded.Tag || p.Name == attached.KernelName(progName)
	observed := p.String()
	if !ours {
		observed += ", not the lab's (another name and other instructions)"
	}
	return labs.Assert(name, !ours, expected, observed,
		fmt.Sprintf("%s runs on the machine's own lo, where the intro's front end attaches it; in this lab it belongs on node1's %s only. "+
			"Take it off the machine's lo with `sudo ip link set dev lo xdp off` (no `ip netns exec`: the machine's own namespace), or stop the loader that holds it",
			p, iface)), nil
}
