package redirect

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// pings is how many echo requests (or crafted frames) each phase of the
// check sends.
const pings = 3

// exercise is what a step expects, and where its starter leaves each part of
// the program to the learner: " (TODO 1 in redirect.c)", or "" where the
// step's starter has it written, so that a hint sends the learner to the gap
// they filled.
type exercise struct {
	udp, arp bool
	// The base exercise's parts: the lookup, the verdict on its answer, the
	// rewrite of the headers, the redirect.
	lookup, verdict, rewrite, redirect string
	// The udp step's: the protocols reflected, the ports swapped.
	protocols, ports string
	// The arp step's: recognising a request, finding the address in
	// arp_table, writing the reply, sending it.
	arpRequest, arpLookup, arpReply, arpSend string
	// nothing is the hint when the program made no lookup for the pings
	// and passed them on; arpNothing when it left an ARP request alone.
	nothing, arpNothing string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in redirect.c)", n) }

// recognise is what the program must do before any lookup, in every step.
const recognise = "the program made no route lookup for the pings and passed them to node1's kernel, which routed them on to node2: " +
	"for IPv4 (eth->h_proto == bpf_htons(ETH_P_IP)) ICMP (ip->protocol == IPPROTO_ICMP)"

var exercises = map[string]exercise{
	"": {
		lookup: todo(1), verdict: todo(2), rewrite: todo(3), redirect: todo(4),
		nothing: recognise + ", look up the way back" + todo(1) + ", act on the lookup's answer" + todo(2) +
			", turn the packet around" + todo(3) + " and redirect it through if_redirect" + todo(4),
	},
	stepUDP: {
		udp: true, protocols: todo(1), ports: todo(2),
		nothing: recognise + ", look up the way back and redirect, as in the base exercise; reflect ICMP as well as UDP" + todo(1),
	},
	stepARP: {
		arp: true, arpRequest: todo(1), arpLookup: todo(2), arpReply: todo(3), arpSend: todo(4),
		nothing: recognise + ", look up the way back and redirect, as in the base exercise",
		arpNothing: "recognise an ARP request (eth->h_proto == bpf_htons(ETH_P_ARP), ar_op == bpf_htons(ARPOP_REQUEST))" + todo(1) + ", find the address it asks for in arp_table" + todo(2) +
			", turn it into the reply" + todo(3) + " and send that back out of the interface the request came in on" + todo(4),
	},
}

// checker runs a step's phases and keeps their results.
type checker struct {
	ctx context.Context
	env *labs.Env
	ex  exercise
	sit situation
	// The host sends into node1's veth1 (dut); node2 (receiver) sends
	// into its veth2 (dutOut).
	sender, dut, dutOut, receiver topology.Place
	// counts is fib_results, nil when the program has none.
	counts  *ebpf.Map
	results []labs.Result
	// broken is the hint of the phase without the program when it failed:
	// the lab's network does not route by itself, which explains what
	// must pass not passing.
	broken string
	// wrongWay is the hint of a reflection phase that saw packets leave
	// node1 turned around towards their destination: the lookup's mistake,
	// which later phases show in their own way.
	wrongWay string
}

func (c *checker) add(rs ...labs.Result) { c.results = append(c.results, rs...) }

// measure runs a traffic step and returns what fib_results counted
// meanwhile (nil without fib_results). Its error is the check's: the
// program's doing is in the step's own result.
func (c *checker) measure(act func() error) (grade.Counters[uint32], error) {
	if c.counts == nil {
		return nil, act()
	}
	d, actErr, err := grade.Measure[uint32](c.ctx, c.counts, act)
	if actErr != nil {
		return nil, actErr
	}
	return d, err
}

// Check runs every phase of the step: the network without the program;
// the reflection of pings on both of node1's interfaces; an echo request
// whose way back leaves by the other interface; the DEVMAP emptied for a
// moment (nothing may come back); node1's neighbour entry for the host
// removed for a moment (the lookup says NO_NEIGH: the pings go on to
// node2); traffic that must pass; and the step's own phases. Witnesses on
// the senders' and receivers' interfaces see the frames independently of
// the program. The temporary changes are made under an undo record, so a
// check killed half-way is taken back by the next command.
func (l *Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	c := &checker{ctx: ctx, env: env, ex: exercises[env.Options.Step],
		sender: env.Topo.MustRole("sender"), dut: env.Topo.MustRole("dut"),
		dutOut: env.Topo.MustRole("dut_out"), receiver: env.Topo.MustRole("receiver")}
	forward, err := c.dut.NS.ReadSysctl("net.ipv4.ip_forward")
	if err != nil {
		return nil, err
	}
	c.sit = situation{instance: env.Instance, node1: c.dut.NS.Name, native: env.Options.Mode == labs.ModeNative,
		forward: forward, rebuild: env.RebuildFix(), ex: c.ex}
	m, counted, err := openResults(env)
	if err != nil {
		return nil, err
	}
	if counted {
		defer m.Close()
		c.counts = m
	}
	ch, err := plan(env)
	if err != nil {
		return nil, err
	}
	err = env.WithUndo(l, undoKind, ch, func() error { return c.run(ch) })
	return c.results, err
}

// run is the check's phases in order; it stops at the first error (the
// check could not go on), keeping the results so far.
func (c *checker) run(ch checkChange) error {
	phases := []func() error{
		func() error { return c.withoutProgram(ch) },
		func() error { return c.reflect(c.sender, c.dut, c.receiver) },
		func() error { return c.reflect(c.receiver, c.dutOut, c.sender) },
		c.crossed,
		func() error { return c.emptyDevmap(ch) },
		func() error { return c.noNeighbour(ch) },
	}
	if c.ex.udp {
		phases = append(phases,
			func() error { return c.udpReflected(c.sender, c.dut, c.receiver) },
			func() error { return c.udpReflected(c.receiver, c.dutOut, c.sender) })
	}
	phases = append(phases, c.othersPass, c.notIPv4Passes)
	if c.ex.arp {
		phases = append(phases,
			func() error { return c.arpAnswered(c.sender, c.dut) },
			func() error { return c.arpAnswered(c.receiver, c.dutOut) },
			c.arpForeign, c.arpReplyPasses)
	}
	for _, p := range phases {
		if err := p(); err != nil {
			return err
		}
	}
	return nil
}

// Watch prints the per-result counters once a second: how the lookups ended
// and what the redirects returned.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	noted := false
	return labs.Every(ctx, time.Second, func() error {
		c, ok, err := readCounts(env)
		if err != nil {
			return err
		}
		if !ok {
			if !noted {
				watchNote(w)
				noted = true
			}
			return nil
		}
		fmt.Fprint(w, Format(c))
		return nil
	})
}
