package redirect

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Slots of fib_results: the BPF_FIB_LKUP_RET_* codes, then the program's own
// (keep in step with redirect.c and the steps' programs).
const (
	fibSuccess     = 0
	fibBlackhole   = 1
	fibUnreachable = 2
	fibProhibit    = 3
	fibNotFwded    = 4
	fibFwdDisabled = 5
	fibUnsuppLWT   = 6
	fibNoNeigh     = 7
	fibFragNeeded  = 8
	fibNoSrcAddr   = 9
	resultFibError = 15
	// resultAction + the XDP action bpf_redirect_map returned.
	resultAction   = 16
	actionAborted  = resultAction + 0
	actionDrop     = resultAction + 1
	actionPass     = resultAction + 2
	actionTX       = resultAction + 3
	actionRedirect = resultAction + 4
	// The arp step's.
	arpAnswered = 24
	arpNotOurs  = 25
)

var resultNames = map[uint32]string{
	fibSuccess:     "SUCCESS",
	fibBlackhole:   "BLACKHOLE",
	fibUnreachable: "UNREACHABLE",
	fibProhibit:    "PROHIBIT",
	fibNotFwded:    "NOT_FWDED",
	fibFwdDisabled: "FWD_DISABLED",
	fibUnsuppLWT:   "UNSUPP_LWT",
	fibNoNeigh:     "NO_NEIGH",
	fibFragNeeded:  "FRAG_NEEDED",
	fibNoSrcAddr:   "NO_SRC_ADDR",
	resultFibError: "lookup error",
	actionAborted:  "redirect XDP_ABORTED",
	actionDrop:     "redirect XDP_DROP",
	actionPass:     "redirect XDP_PASS",
	actionTX:       "redirect XDP_TX",
	actionRedirect: "redirect XDP_REDIRECT",
	arpAnswered:    "ARP answered",
	arpNotOurs:     "ARP not in arp_table",
}

// ResultName names a fib_results slot: BPF_FIB_LKUP_RET_* without the prefix
// for lookups, then the program's own outcomes.
func ResultName(slot uint32) string {
	if n, ok := resultNames[slot]; ok {
		return n
	}
	return fmt.Sprintf("result %d", slot)
}

// lookups is how many fib lookups the program counted.
func lookups(c grade.Counters[uint32]) uint64 {
	var n uint64
	for k, v := range c {
		if k <= fibNoSrcAddr || k == resultFibError {
			n += v
		}
	}
	return n
}

// failures lists the lookups that did not succeed and the redirects that did
// not redirect, "FWD_DISABLED +3", or "none".
func failures(c grade.Counters[uint32]) string {
	return c.Except(fibSuccess, actionRedirect, arpAnswered, arpNotOurs).Format(ResultName)
}

// Format renders the counters for `watch`: one "fib SUCCESS : 6" line per
// non-zero slot, in slot order, then a blank line.
func Format(c grade.Counters[uint32]) string {
	var b strings.Builder
	for _, e := range c.Entries(ResultName) {
		label := e.Name
		if e.Key <= fibNoSrcAddr {
			label = "fib " + label
		}
		fmt.Fprintf(&b, "%s : %d\n", label, e.Value)
	}
	if b.Len() == 0 {
		b.WriteString("nothing counted yet\n")
	}
	return b.String() + "\n"
}

// openResults opens fib_results (pinned, or the attached program's in a
// bare lab). ok is false when the program has none (a learner's own, say):
// then there is nothing to count.
func openResults(env *labs.Env) (m *ebpf.Map, ok bool, err error) {
	m, err = grade.OpenMap(env, mapResults, true)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return m, true, nil
}

// readCounts reads fib_results summed over CPUs; ok is as for openResults.
func readCounts(env *labs.Env) (c grade.Counters[uint32], ok bool, err error) {
	m, ok, err := openResults(env)
	if !ok {
		return nil, false, err
	}
	defer m.Close()
	c, err = grade.ReadCounters[uint32](m)
	return c, true, err
}

// situation is what a hint may mention besides the counters.
type situation struct {
	instance string
	node1    string // node1's namespace
	native   bool
	forward  string // node1's net.ipv4.ip_forward
	rebuild  string // how to build the lab again as it was
	ex       exercise
}

// explain turns what the program counted for packets that should have been
// reflected into the sentence a learner needs: the first reason that
// applies, most specific first; "" when the counters show nothing amiss.
func explain(d grade.Counters[uint32], s situation) string {
	ex := s.ex
	switch {
	case d[fibFwdDisabled] > 0:
		return fmt.Sprintf("fib lookup returned FWD_DISABLED %d times: ip_forward is off in node1 (net.ipv4.ip_forward = %s there); the lookup only routes on an interface that forwards", d[fibFwdDisabled], s.forward)
	case d[fibNoNeigh] > 0:
		return fmt.Sprintf("fib lookup returned NO_NEIGH %d times: node1 has no neighbour entry (MAC) for the sender, so the program passed the packet and node1's kernel routed it on to node2; node2's reply is reflected on veth2 before node1's kernel sees it, so nothing makes node1 resolve the sender. The lab installs permanent neighbours: see `ip -n %s neigh`, or %s",
			d[fibNoNeigh], s.node1, s.rebuild)
	case d[fibNotFwded] > 0:
		return fmt.Sprintf("fib lookup returned NOT_FWDED %d times: node1 has no route for what the lookup asked; ask for the way back to the sender: ipv4_src = ip->daddr, ipv4_dst = ip->saddr, ifindex = ctx->ingress_ifindex, addresses as they are in the packet (network byte order)%s", d[fibNotFwded], ex.lookup)
	case d[fibFragNeeded] > 0:
		return fmt.Sprintf("fib lookup returned FRAG_NEEDED %d times: the lookup took the packet for larger than the egress MTU; fib.tot_len is the packet's length in host byte order, bpf_ntohs(ip->tot_len), or 0%s", d[fibFragNeeded], ex.lookup)
	case d[fibBlackhole]+d[fibUnreachable]+d[fibProhibit] > 0:
		return "fib lookup hit a blackhole, unreachable or prohibit route in node1 (" + failures(d) + "): node1's routes back to the sender are not the lab's: " + s.rebuild
	case d[resultFibError] > 0:
		return fmt.Sprintf("bpf_fib_lookup failed with an error %d times: pass sizeof(struct bpf_fib_lookup), family AF_INET and ifindex = ctx->ingress_ifindex%s", d[resultFibError], ex.lookup)
	case d[actionAborted] > 0:
		return fmt.Sprintf("bpf_redirect_map returned XDP_ABORTED %d times: its key was not in if_redirect. The key must be fib.ifindex, the interface the lookup chose%s, and if_redirect must hold node1's veth1 and veth2, filled from inside node1's namespace (%s shows it)",
			d[actionAborted], ex.redirect, labs.Cmd(s.instance, "status"))
	case d[actionTX] > 0 || d[actionDrop] > 0 || d[actionPass] > 0:
		return fmt.Sprintf("the program returned %s after a successful lookup, not what bpf_redirect_map(&if_redirect, fib.ifindex, 0) returns%s", d.Only(actionTX, actionDrop, actionPass).Format(ResultName), ex.redirect)
	case d[actionRedirect] > 0 && s.native:
		return fmt.Sprintf("the program redirected %d packets but they did not arrive: in native mode a veth takes redirected frames only when its peer runs an XDP program (xdp_pass on host/veth0 and node2/veth3, see %s)", d[actionRedirect], labs.Cmd(s.instance, "status"))
	case d[actionRedirect] > 0:
		return fmt.Sprintf("the program redirected %d packets but they did not arrive as they should: copy the lookup's dmac and smac into the Ethernet header and swap the IP addresses%s", d[actionRedirect], ex.rewrite)
	}
	return ""
}

// fallbackHint is for objects without fib_results: what to look at by hand.
const fallbackHint = "the program must look up the route back to the sender (bpf_fib_lookup, source and destination swapped, ingress ifindex), swap the IP addresses, copy the lookup's MACs and bpf_redirect_map to the egress ifindex; add the lab's fib_results map to your program to have the check say which step failed"

// watchNote is printed by watch for objects without fib_results.
func watchNote(w io.Writer) {
	fmt.Fprintln(w, "this object has no fib_results map: nothing to show; add one (see the lab's redirect.c) to see each lookup's result")
}
