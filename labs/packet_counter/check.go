package packetcounter

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Traffic the check sends from the sender to the dut.
const (
	pings      = 3
	datagrams  = 5
	udpPort    = 9
	udpPayload = 32
	tcpPort    = 8888
	// Raw IPv6 frames of the ipv6 step.
	echoes6     = 3
	datagrams6  = 2
	echoID6     = 0x786c // "xl"
	udpSrcPort6 = 5000
	tcpSrcPort6 = 43910
	// probeSrcPort is the UDP source port of the IPv4 probes.
	probeSrcPort = 5100
)

// IP protocol numbers, the map's keys.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// IPv6 is off in the lab's namespaces, so these addresses belong to no
// interface: the frames only have to look like IPv6 to the program. The
// second byte of the source (0x78) sits where an IPv4 header has its
// protocol: a program that reads an IPv6 header as IPv4 counts under 120.
var (
	hostIPv6  = netip.MustParseAddr("fd78:6c00::3")
	node1IPv6 = netip.MustParseAddr("fd78:6c00::2")
)

// exercise is what a step expects, and where its starter leaves each part
// of the program to the learner: " (TODO 1 in packet_counter.c)", or ""
// where the step's starter has it written, so that a hint sends the
// learner to the gap they filled.
type exercise struct {
	dropICMP, ipv6 bool
	// IPv4: the header checks, the key, the increment, the ICMP drop.
	header, key, increment, drop string
	// pass is where a packet that should pass may have been dropped.
	pass string
	// IPv6: the header check and the key.
	header6, key6 string
	// nothing is the hint when an IPv4 step counted nothing at all.
	nothing string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in packet_counter.c)", n) }

var exercises = map[string]exercise{
	"": {
		header: todo(1), key: todo(2), increment: todo(3),
		nothing: "nothing was counted: the program returns before it counts, or never adds to the counter; return early only for frames that are not IPv4 or too short" +
			todo(1) + ", look up protocols[ip->protocol] with a __u32 key" + todo(2) + " and add 1 to what the lookup returned" + todo(3),
	},
	stepDropICMP: {
		// What the learner writes is all in TODO 1: a second count too.
		dropICMP: true, drop: todo(1), pass: todo(1), increment: todo(1),
		nothing: "nothing was counted: count every packet first, then drop ICMP; a packet dropped before it is counted is lost to the counters" + todo(1),
	},
	stepIPv6: {
		ipv6: true, header6: todo(1), key6: todo(2),
		nothing: "nothing was counted: IPv4 packets are counted as in the base exercise, under ip->protocol",
	},
}

// Check sends pings, UDP datagrams and a TCP exchange from the sender to
// the dut, in the ipv6 step raw IPv6 frames, and in every step frames that
// the program must pass uncounted (probes.go); it compares what each made
// the counters count with what was sent, witnessed as it left the sender.
// Everything is sent first and judged after, so that a hint can use the
// evidence of every step. Traffic the program kept from arriving fails its
// own expectation; the counters are still judged.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	m, err := grade.OpenMap(env, mapName, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	c := &checker{ctx: ctx, m: m, ex: exercises[env.Options.Step], sender: env.Topo.MustRole("sender"), dut: env.Topo.MustRole("dut")}
	c.run = func(frames [][]byte) (grade.Verdicts, error) { return grade.RunXDP(c.dut, frames) }
	c.probes, err = probes(c.sender, c.dut, c.ex.ipv6)
	if err != nil {
		return nil, err
	}
	err = c.send()
	return c.judge(), err
}

// checker runs a step's traffic and keeps what it saw for judging.
type checker struct {
	ctx         context.Context
	m           *ebpf.Map
	ex          exercise
	sender, dut topology.Place

	ping             grade.Pinged
	udp              grade.Delivered
	tcp              grade.Exchanged
	icmp, udp4, tcp4 phase
	v6               []phase
	probes           []probe
	probed           []probed
	// run runs the program under check on frames (grade.RunXDP on the
	// dut), for evidence.
	run func(frames [][]byte) (grade.Verdicts, error)
}

// phase is one traffic step: the packets it sent and what the map counted
// while it ran.
type phase struct {
	proto uint32 // the key its packets count under
	what  string // what they are, as counted: "echo requests"
	want  uint64 // how many the program must count under proto
	ipv6  bool
	// frames are the packets as they met the program: witnessed leaving
	// the sender, or written raw by the check.
	frames  [][]byte
	delta   grade.Counters[uint32]
	written grade.Written // raw frames: how many arrived past the program
	ran     bool
}

// probed is what a probe did: whether it arrived, and what it counted.
type probed struct {
	probe
	seen  grade.Written
	delta grade.Counters[uint32]
}

// send runs every traffic step, stopping at the first that could not run.
func (c *checker) send() error {
	if err := c.sendIPv4(); err != nil {
		return err
	}
	if c.ex.ipv6 {
		if err := c.sendIPv6(); err != nil {
			return err
		}
	}
	return c.sendProbes()
}

// sendIPv4 is the base exercise's traffic: pings, UDP, TCP.
func (c *checker) sendIPv4() (err error) {
	c.icmp, err = c.witnessed("echo requests", protoICMP, 0, func() (err error) {
		c.ping, err = grade.Pings(c.ctx, c.sender, c.dut.Addr.Addr(), pings)
		return err
	})
	if err != nil {
		return err
	}
	c.icmp.want = pings
	c.udp4, err = c.witnessed("datagrams", protoUDP, 0, func() (err error) {
		c.udp, err = grade.Datagrams(c.ctx, c.sender, c.dut, udpPort, datagrams, udpPayload)
		return err
	})
	if err != nil {
		return err
	}
	c.udp4.want = datagrams
	// The last segments of a close may leave after the exchange returns.
	c.tcp4, err = c.witnessed("segments", protoTCP, grade.Quiet, func() (err error) {
		c.tcp, err = grade.TCPExchange(c.ctx, c.sender, c.dut, tcpPort, []byte("hello xdplab\n"))
		return err
	})
	c.tcp4.want = uint64(len(c.tcp4.frames))
	return err
}

// witnessed runs one IPv4 traffic step with a witness on the sender's
// interface, and keeps the packets of proto that left it for the dut: the
// very frames the program ran on, to count TCP segments exactly and to
// run the program on again for evidence. quiet is how long the witness
// waits for stragglers, within the measurement.
func (c *checker) witnessed(what string, proto uint32, quiet time.Duration, act func() error) (phase, error) {
	p := phase{proto: proto, what: what}
	w, err := witness.Open(c.sender.NS, c.sender.Iface, witness.Options{EtherType: packet.EtherTypeIPv4, Direction: witness.Out})
	if err != nil {
		return p, err
	}
	defer w.Close()
	var frames []witness.Frame
	p.delta, err = c.measure(func() error {
		if err := act(); err != nil {
			return err
		}
		var err error
		frames, err = w.Frames(quiet)
		return err
	})
	if err != nil {
		return p, err
	}
	for _, f := range frames {
		ip := &f.Packet.IPv4
		if f.Packet.Has(packet.LayerIPv4) && ip.Dst == c.dut.Addr.Addr() && uint32(ip.Protocol) == proto {
			p.frames = append(p.frames, f.Data)
		}
	}
	p.ran = true
	return p, nil
}

// measure runs one traffic step and returns what it made the map count.
// Its error is the check's (a port taken, an interruption): what the
// program did to the traffic is in the step's result.
func (c *checker) measure(step func() error) (grade.Counters[uint32], error) {
	d, stepErr, err := grade.Measure[uint32](c.ctx, c.m, step)
	if stepErr != nil {
		return nil, stepErr
	}
	return d, err
}

// sendIPv6 is the ipv6 step's traffic: raw ICMPv6 echo requests, UDP
// datagrams and a TCP SYN, each witnessed at node1 past the program.
func (c *checker) sendIPv6() error {
	echo, udp := phase{proto: protoICMPv6, what: "IPv6 echo requests", ipv6: true}, phase{proto: protoUDP, what: "IPv6 datagrams", ipv6: true}
	for seq := range echoes6 {
		f, err := packet.ICMPv6Echo{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: hostIPv6, Dst: node1IPv6,
			ID: echoID6, Seq: uint16(seq + 1), Payload: make([]byte, 56)}.Bytes()
		if err != nil {
			return fmt.Errorf("build icmpv6 frame: %w", err)
		}
		echo.frames = append(echo.frames, f)
	}
	for n := range datagrams6 {
		f, err := packet.UDPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC,
			Src: netip.AddrPortFrom(hostIPv6, udpSrcPort6+uint16(n)), Dst: netip.AddrPortFrom(node1IPv6, udpPort),
			Payload: make([]byte, udpPayload)}.Bytes()
		if err != nil {
			return fmt.Errorf("build ipv6 udp frame: %w", err)
		}
		udp.frames = append(udp.frames, f)
	}
	syn, err := packet.TCPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC,
		Src: netip.AddrPortFrom(hostIPv6, tcpSrcPort6), Dst: netip.AddrPortFrom(node1IPv6, tcpPort),
		Flags: packet.TCPSyn, Seq: 1, Window: 64240}.Bytes()
	if err != nil {
		return fmt.Errorf("build ipv6 tcp frame: %w", err)
	}
	for _, p := range []phase{echo, udp, {proto: protoTCP, what: "IPv6 SYN", ipv6: true, frames: [][]byte{syn}}} {
		var err error
		p.delta, err = c.measure(func() (err error) {
			p.written, err = grade.Frames(c.ctx, c.sender, c.dut, p.sent(), packet.EtherTypeIPv6, p.frames)
			return err
		})
		if err != nil {
			return err
		}
		p.ran, p.want = true, uint64(len(p.frames))
		c.v6 = append(c.v6, p)
	}
	return nil
}

// sent names a phase's packets as sent: "3 ICMPv6 echo requests".
func (p phase) sent() string {
	switch {
	case p.proto == protoICMPv6:
		return fmt.Sprintf("%d ICMPv6 echo requests", len(p.frames))
	case p.proto == protoTCP && p.ipv6:
		return fmt.Sprintf("%d IPv6 TCP SYN", len(p.frames))
	case p.ipv6:
		return fmt.Sprintf("%d IPv6 UDP datagrams", len(p.frames))
	}
	return fmt.Sprintf("%d %s", len(p.frames), p.what)
}

// sendProbes writes each probe and measures it on its own, so that a
// count names the probe that made it.
func (c *checker) sendProbes() error {
	for _, p := range c.probes {
		r := probed{probe: p}
		var err error
		r.delta, err = c.measure(func() (err error) {
			r.seen, err = grade.Frames(c.ctx, c.sender, c.dut, p.what, p.etherType, [][]byte{p.frame})
			return err
		})
		if err != nil {
			return err
		}
		c.probed = append(c.probed, r)
	}
	return nil
}

// phases are the traffic steps that ran, IPv4 first.
func (c *checker) phases() []phase {
	var out []phase
	for _, p := range append([]phase{c.icmp, c.udp4, c.tcp4}, c.v6...) {
		if p.ran {
			out = append(out, p)
		}
	}
	return out
}

// finished reports whether every traffic step ran: only then are the
// counters complete enough to say that nothing else was counted.
func (c *checker) finished() bool {
	return len(c.probed) == len(c.probes)
}

// verdicts runs the program on frames for evidence; nil when it cannot.
func (c *checker) verdicts(frames [][]byte) grade.Verdicts {
	if len(frames) == 0 || c.run == nil {
		return nil
	}
	v, err := c.run(frames)
	if err != nil {
		return nil
	}
	return v
}
