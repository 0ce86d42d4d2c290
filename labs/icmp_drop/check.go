package icmpdrop

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Traffic the check sends through the program.
const (
	pings      = 3
	datagrams  = 5
	udpPayload = 32
	udpPort    = 9999
	tcpPort    = 8888
	// closedPort has no listener: a datagram to it draws an ICMP port
	// unreachable (9 is the discard port, which nothing in a lab serves).
	closedPort = 9
)

// exercise is what a step expects, and where its starter leaves each part
// of the program to the learner: " (TODO 1 in icmp_drop.c)", or "" where
// the step's starter has it written, so that a hint sends the learner to
// the gap they filled.
type exercise struct {
	// iface is node1's interface the program runs on: lo or veth1.
	iface string
	// requestsOnly: drop ICMP echo requests only (echo_request).
	requestsOnly bool
	// Where the Ethernet and IPv4 headers are found, where the ICMP
	// header is, and where the program decides to drop.
	ipHeader, icmpHeader, drop string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in icmp_drop.c)", n) }

var exercises = map[string]exercise{
	"":              {iface: "lo", ipHeader: todo(1), drop: todo(2)},
	stepVeth1:       {iface: "veth1", ipHeader: todo(1), drop: todo(2)},
	stepEchoRequest: {iface: "veth1", requestsOnly: true, icmpHeader: todo(1), drop: todo(2)},
}

// checker holds the places of a step's traffic.
type checker struct {
	env *labs.Env
	ex  exercise
	// at is node1's interface the program runs on; pinger pings target
	// through it.
	at, pinger topology.Place
	target     netip.Addr
	// from and to are the ends of the UDP and TCP traffic through it.
	from, to topology.Place
	// sender and dut are the topology's roles: on veth1 the host sends,
	// and node1's datagram to the host draws the ICMP error.
	sender, dut topology.Place
}

func newChecker(env *labs.Env, ex exercise) *checker {
	c := &checker{env: env, ex: ex, sender: env.Topo.MustRole("sender"), dut: env.Topo.MustRole("dut")}
	c.pinger, c.target = pingPath(env.Topo, ex)
	if ex.iface == "lo" {
		c.at = grade.Loopback(c.dut)
		c.from, c.to = c.at, c.at
	} else {
		c.at = c.dut
		c.from, c.to = c.sender, c.dut
	}
	return c
}

// Check pings through the program twice, first with it swapped out of its
// link (answered: the network works without it), then with it (no reply,
// and no echo request past it); draws an ICMP error through it; sends UDP
// and TCP through it, which must arrive; replays frames and every IPv4
// protocol number through the program itself (BPF_PROG_TEST_RUN), which
// says what it decides and why the traffic went as it did; and looks at
// the machine's own lo. Whatever the program did to the traffic is
// evidence for the expectations, never an error.
func (l *Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	c := newChecker(env, exercises[env.Options.Step])
	// The program as it runs before the check swaps anything.
	v, runErr := c.replay(c.frames())
	d := diagnose(c.ex, v)
	graded, _, err := attached.XDP(c.at.NS, c.at.Iface)
	if err != nil {
		return nil, err
	}

	before, err := l.withoutProgram(ctx, c)
	if err != nil {
		return nil, err
	}
	results := []labs.Result{before}
	o, err := c.observe(ctx)
	if err != nil {
		return results, err
	}
	more, err := c.judge(o, d)
	results = append(results, more...)
	if err != nil {
		return results, err
	}
	results = append(results, c.ex.verdictResults(v, runErr, d)...)
	own, err := ownLo(env, graded)
	if err != nil {
		return results, err
	}
	return append(results, own), nil
}

// observation is what the traffic with the program in place saw: the
// replies, and the frames witnessed before the program (as they arrive at
// it) and after it (what it passed into node1, and what node1 sent).
type observation struct {
	ping, out grade.Pinged // out: node1 pings the host (echo_request)
	udp       grade.Delivered
	tcp       grade.Exchanged
	// pre are the frames as they went to the program; in the frames it
	// passed into node1; sent the frames node1 sent out of that interface.
	pre, in, sent []witness.Frame
}

// observe sends the traffic with the program in place, between witnesses
// opened before the first frame: on lo one packet socket sees each frame
// leave (before XDP) and, if the program passed it, come back in; on veth1
// the host's veth0 sees what goes to node1, and node1's veth1 what the
// program passed.
func (c *checker) observe(ctx context.Context) (*observation, error) {
	opts := witness.Options{EtherType: packet.EtherTypeIPv4, Buffer: 4 << 20}
	at, err := witness.Open(c.at.NS, c.at.Iface, opts)
	if err != nil {
		return nil, err
	}
	defer at.Close()
	ws := []*witness.Witness{at}
	if c.ex.iface != "lo" {
		opts.Direction = witness.Out
		sender, err := witness.Open(c.sender.NS, c.sender.Iface, opts)
		if err != nil {
			return nil, err
		}
		defer sender.Close()
		ws = append(ws, sender)
	}
	o := &observation{}
	if o.ping, err = grade.Pings(ctx, c.pinger, c.target, pings); err != nil {
		return nil, err
	}
	if err := c.drawError(ctx); err != nil {
		return nil, err
	}
	if c.ex.requestsOnly {
		if o.out, err = grade.Pings(ctx, c.dut, c.sender.Addr.Addr(), pings); err != nil {
			return nil, err
		}
	}
	if o.udp, err = grade.Datagrams(ctx, c.from, c.to, udpPort, datagrams, udpPayload); err != nil {
		return nil, err
	}
	if o.tcp, err = grade.TCPExchange(ctx, c.from, c.to, tcpPort, []byte("hello icmp_drop\n")); err != nil {
		return nil, err
	}
	frames, err := witness.Collect(grade.Quiet, ws...)
	if err != nil {
		return nil, err
	}
	for _, f := range frames[0] {
		switch {
		case !f.Out:
			o.in = append(o.in, f)
		case c.ex.iface == "lo":
			// Leaving lo is arriving at its XDP program.
			o.pre, o.sent = append(o.pre, f), append(o.sent, f)
		default:
			o.sent = append(o.sent, f)
		}
	}
	if len(frames) > 1 {
		o.pre = frames[1]
	}
	return o, nil
}

// errorPeer is where node1's datagram to the closed port goes: itself over
// lo, or the host.
func (c *checker) errorPeer() netip.AddrPort {
	if c.ex.iface == "lo" {
		return netip.AddrPortFrom(c.at.Addr.Addr(), closedPort)
	}
	return netip.AddrPortFrom(c.sender.Addr.Addr(), closedPort)
}

// drawError sends one datagram from node1 to a closed port; the port
// unreachable that answers it comes in through the program.
func (c *checker) drawError(ctx context.Context) error {
	if err := traffic.UDP(ctx, c.dut.NS, c.errorPeer(), 1, udpPayload); err != nil {
		return fmt.Errorf("send a datagram from node1 to %s, to draw a port unreachable: %w", c.errorPeer(), err)
	}
	return nil
}

// via says where a step's pings go: "127.0.0.1 in node1", "host -> 192.168.0.2".
func (c *checker) via() string {
	if c.ex.iface == "lo" {
		return fmt.Sprintf("%s in %s", c.target, c.pinger.Node)
	}
	return fmt.Sprintf("%s -> %s", c.pinger.Node, c.target)
}

// echoes counts the echo messages of type typ and identifier id among
// frames.
func echoes(frames []witness.Frame, typ uint8, id int) int {
	n := 0
	for _, f := range frames {
		if f.Packet.Has(packet.LayerICMPv4) && f.Packet.ICMPv4.Type == typ && int(f.Packet.ICMPv4.ID) == id {
			n++
		}
	}
	return n
}

// unreachables counts the ICMP port unreachables among frames that answer
// a datagram to dst, as their quoted IP and UDP headers say.
func unreachables(frames []witness.Frame, dst netip.AddrPort) int {
	n := 0
	for _, f := range frames {
		m := &f.Packet.ICMPv4
		if !f.Packet.Has(packet.LayerICMPv4) || m.Type != packet.ICMPv4Unreachable || m.Code != 3 {
			continue
		}
		q := m.Payload // the quoted IPv4 header, then the first 8 bytes of the UDP header
		if len(q) < 20 || q[9] != packet.ProtoUDP {
			continue
		}
		ihl := int(q[0]&0x0f) * 4
		quotedDst, _ := netip.AddrFromSlice(q[16:20])
		if len(q) >= ihl+4 && quotedDst == dst.Addr() && binary.BigEndian.Uint16(q[ihl+2:]) == dst.Port() {
			n++
		}
	}
	return n
}

// datagramsTo counts the UDP datagrams to dst among frames.
func datagramsTo(frames []witness.Frame, dst netip.AddrPort) int {
	n := 0
	for _, f := range frames {
		if f.Packet.Has(packet.LayerUDP) && f.Packet.IPv4.Dst == dst.Addr() && f.Packet.UDP.DstPort == dst.Port() {
			n++
		}
	}
	return n
}

// judge turns what the traffic saw into the step's expectations, with
// hints from the program's verdicts. An ICMP error the check could not
// draw is an error (something holds the closed port), unless the program
// dropped the datagram meant to draw it.
func (c *checker) judge(o *observation, d diagnosis) ([]labs.Result, error) {
	hint := func(k kind) string {
		if h := o.ping.NotSentHint(c.env); h != "" {
			return h
		}
		return d.of[k]
	}
	results := []labs.Result{
		grade.PingsUnanswered(fmt.Sprintf("with %s, %d pings %s get no reply", progName, pings, c.via()), o.ping, hint(request)),
	}

	reqIn, repOut := echoes(o.in, packet.ICMPv4EchoRequest, o.ping.ID), echoes(o.sent, packet.ICMPv4EchoReply, o.ping.ID)
	results = append(results, labs.Assert(
		fmt.Sprintf("no echo request gets past %s into node1, so node1 sends no echo reply", progName),
		reqIn == 0 && repOut == 0,
		fmt.Sprintf("0 echo requests in past the program, 0 echo replies out of node1/%s", c.ex.iface),
		fmt.Sprintf("%d echo requests in past the program, %d echo replies out of node1/%s", reqIn, repOut, c.ex.iface),
		hint(request)))

	peer := c.errorPeer()
	sent, in := unreachables(o.pre, peer), unreachables(o.in, peer)
	what := fmt.Sprintf("the host's port unreachable for node1's datagram to %s", peer)
	if c.ex.iface == "lo" {
		what = fmt.Sprintf("node1's port unreachable for its own datagram to %s", peer)
	}
	name := "an ICMP error is dropped too: " + what
	want, ok := 0, in == 0
	if c.ex.requestsOnly {
		name = "an ICMP error passes: " + what + " reaches node1"
		want, ok = 1, in == sent
	}
	if sent == 0 {
		if c.ex.iface == "lo" && datagramsTo(o.in, peer) == 0 {
			// The program dropped the datagram itself: no error to judge.
			results = append(results, labs.Assert(name, false, fmt.Sprintf("1 sent, %d past the program", want),
				fmt.Sprintf("none sent: node1's datagram to %s did not get past the program", peer), d.of[udp]))
		} else {
			return results, labs.Errorf(labs.ErrEnvironment, "nothing answered node1's datagram to %s with an ICMP port unreachable, so the check has no ICMP error to send through %s: "+
				"does something listen on UDP port %d there (%s)? If not, the port unreachable was rate limited: run %s again",
				peer, progName, closedPort, c.listeners(), labs.Cmd(c.env.Instance, "check icmp_drop"))
		}
	} else {
		results = append(results, labs.Assert(name, ok, fmt.Sprintf("%d sent, %d past the program", sent, want*sent),
			fmt.Sprintf("%d sent, %d past the program", sent, in), d.of[unreachable]))
	}

	if c.ex.requestsOnly {
		h := d.of[reply]
		if ns := o.out.NotSentHint(c.env); ns != "" {
			h = ns
		}
		results = append(results, grade.PingsAnswered(
			fmt.Sprintf("node1's %d pings to %s are answered: the echo replies pass", pings, o.out.To), o.out, h))
	}
	return append(results,
		grade.DatagramsArrived("", o.udp, d.of[udp]),
		grade.TCPExchanged("", o.tcp, d.of[tcp])), nil
}

// listeners is the command that lists the UDP listeners of the node that
// answers node1's datagram to the closed port.
func (c *checker) listeners() string {
	node := c.sender.Node
	if c.ex.iface == "lo" {
		node = c.dut.Node
	}
	return fmt.Sprintf("`sudo xdplab exec%s %s -- ss -ulpn`", labs.InstanceFlag(c.env.Instance), node)
}
