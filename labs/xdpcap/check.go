package xdpcap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/filter"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Traffic the check sends from the sender to node1, in every phase.
const (
	pings     = 3
	datagrams = 5
	dropPort  = 9    // discard: the program drops it
	passPort  = 7777 // anything else: passed
	// swappedPort is port 9 with its two bytes swapped: a program that
	// compares udp->dest with 9 in host byte order drops these instead.
	swappedPort = 0x0900
	swapped     = 2
	// tcpPort: TCP to the discard port passes, since the rule is UDP's.
	tcpPort     = dropPort
	payloadSize = 32
	// stampID marks the tx step's ICMP timestamp request.
	stampID = 0x786c // "xl"
)

// checkFilter keeps packets of two actions and leaves out a third kind, so
// received, matched and filtered all move.
const checkFilter = "icmp or udp port 9"

// Check sends the same mix (pings, UDP to ports 9, 7777 and 2304, a TCP
// exchange to port 9) from the sender to node1 in three phases: with
// nothing capturing, which is how the program behaves in production;
// captured at every hook slot, which shows each packet's verdict; and
// captured before the program (--entry) and, at once, after it with a
// filter, which must keep exactly what libpcap keeps of the entry capture.
// The chain step adds a phase with jmp_table's slot emptied for a moment.
// Every expectation is judged at the end, from all that was seen, so a
// hint can use what a later phase showed.
//
// In a bare lab the hook is the learner's, found by name among the maps of
// the program they attached; the entry capture is skipped (see
// runFilteredBare).
func (l *Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	hook, entryPoint := l.CapturePoints(env.PinDir)
	entry := &entryPoint
	if env.Options.Bare {
		pin, release, err := pinLearnersHook(env)
		if err != nil {
			return nil, err
		}
		defer release()
		hook, entry = pin, nil
	}
	if err := inUse(env, hook, entry); err != nil {
		return nil, err
	}
	c := &checker{lab: l, env: env, ex: exercises[env.Options.Step], hook: hook, entry: entry,
		sender: env.Topo.MustRole("sender"), dut: env.Topo.MustRole("dut")}
	err := c.run(ctx)
	return c.judge(), err
}

// checker runs the phases of a check and keeps what each saw; judge turns
// it into expectations.
type checker struct {
	lab         *Lab
	env         *labs.Env
	ex          exercise
	hook        string
	entry       *capture.EntryPoint // nil in a bare lab
	sender, dut topology.Place

	// What each phase saw; nil for a phase that did not run to its end.
	alone     *aloneSeen
	hooked    *hookSeen
	filtered  *filterSeen
	unchained *unchainedSeen
}

func (c *checker) run(ctx context.Context) error {
	if err := c.runAlone(ctx); err != nil {
		return err
	}
	if err := c.runHooked(ctx); err != nil {
		return err
	}
	if c.entry == nil {
		if err := c.runFilteredBare(ctx); err != nil {
			return err
		}
	} else if err := c.runFiltered(ctx); err != nil {
		return err
	}
	if c.ex.chain {
		return c.runUnchained(ctx)
	}
	return nil
}

// start begins a capture. A capture started while the check runs takes a
// place the check needs next: the check could not go on, through no fault
// of the program.
func (c *checker) start(opts capture.Options) (*session, error) {
	s, err := startSession(opts)
	if errors.Is(err, capture.ErrBusy) {
		if berr := inUse(c.env, c.hook, c.entry); berr != nil {
			return nil, berr
		}
	}
	return s, err
}

// aloneSeen is what the program did with nothing capturing.
type aloneSeen struct {
	m mix
	// past are the frames node1's veth1 received past the program.
	past []witness.Frame
	// back are the frames of the sender's interface, both ways (the tx
	// step's requests out and replies in).
	back []witness.Frame
	// stamp is the tx step's ICMP timestamp request, which must pass.
	stamp grade.Written
	// swappedType is a UDP datagram to port 9 in a frame whose EtherType
	// is IPv4's with its bytes swapped: not IPv4, so it must pass.
	swappedType grade.Written
}

// runAlone sends the mix with every hook slot empty, watching what gets
// past the program at node1 and, in the tx step, what comes back to the
// sender.
func (c *checker) runAlone(ctx context.Context) error {
	past, err := witness.Open(c.dut.NS, c.dut.Iface, witness.Options{Direction: witness.In, EtherType: packet.EtherTypeIPv4})
	if err != nil {
		return err
	}
	defer past.Close()
	ws := []*witness.Witness{past}
	if c.ex.tx {
		back, err := witness.Open(c.sender.NS, c.sender.Iface, witness.Options{EtherType: packet.EtherTypeIPv4})
		if err != nil {
			return err
		}
		defer back.Close()
		ws = append(ws, back)
	}
	seen := &aloneSeen{}
	if seen.m, err = sendMix(ctx, c.sender, c.dut); err != nil {
		return err
	}
	odd, err := packet.UDPFrame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC,
		Src: netip.AddrPortFrom(c.sender.Addr.Addr(), 40000), Dst: netip.AddrPortFrom(c.dut.Addr.Addr(), dropPort), Payload: make([]byte, payloadSize)}.Bytes()
	if err != nil {
		return fmt.Errorf("build the frame of EtherType %#04x: %w", swappedEtherType, err)
	}
	binary.BigEndian.PutUint16(odd[12:], swappedEtherType)
	if seen.swappedType, err = grade.Frames(ctx, c.sender, c.dut, swappedTypeWhat, swappedEtherType, [][]byte{odd}); err != nil {
		return err
	}
	if c.ex.tx {
		stamp, err := packet.ICMPv4Frame{SrcMAC: c.sender.MAC, DstMAC: c.dut.MAC, Src: c.sender.Addr.Addr(), Dst: c.dut.Addr.Addr(),
			Type: icmpTimestamp, ID: stampID, Seq: 1, Payload: make([]byte, 12)}.Bytes()
		if err != nil {
			return fmt.Errorf("build the icmp timestamp request: %w", err)
		}
		if seen.stamp, err = grade.Frames(ctx, c.sender, c.dut, "1 ICMP timestamp request", packet.EtherTypeIPv4, [][]byte{stamp}); err != nil {
			return err
		}
	}
	frames, err := witness.Collect(grade.Quiet, ws...)
	if err != nil {
		return err
	}
	seen.past = frames[0]
	if c.ex.tx {
		seen.back = frames[1]
	}
	c.alone = seen
	return nil
}

// swappedEtherType is IPv4's EtherType, 0x0800, with its bytes swapped: a
// program that compares eth->h_proto with ETH_P_IP in host byte order
// takes such a frame for IPv4, and one that never looks at the EtherType
// reads the IPv4 header in it all the same.
const swappedEtherType = 0x0008

var swappedTypeWhat = fmt.Sprintf("1 frame of EtherType %#04x (IPv4's, bytes swapped) with UDP to port %d", swappedEtherType, dropPort)

// icmpTimestamp is the ICMP type of a timestamp request: ICMP that is not
// an echo request, which the tx step must pass.
const icmpTimestamp = 13

// hookSeen is what a capture at every hook slot saw.
type hookSeen struct {
	m   mix
	got captured
}

// runHooked sends the mix while a capture without a filter holds every
// hook slot.
func (c *checker) runHooked(ctx context.Context) error {
	s, err := c.start(capture.Options{Hook: c.hook})
	if err != nil {
		return err
	}
	m, err := sendMix(ctx, c.sender, c.dut)
	if err == nil {
		s.waitFor(ctx, nil, pings+2*datagrams+swapped)
	}
	got, serr := s.stop()
	if err := errors.Join(err, serr); err != nil {
		return err
	}
	c.hooked = &hookSeen{m: m, got: got}
	return nil
}

// filterSeen is what the captures before the program and after it, with
// the filter, saw at once; in a bare lab, what the sender sent in place of
// the entry capture.
type filterSeen struct {
	m        mix
	atEntry  [][]byte
	filtered captured
	restored bool
	// sentBy names where the frames to filter were seen, for the
	// expectation: "the entry capture" or "what host/veth0 sent".
	sentBy string
}

// runFiltered captures before the program and after it, with the filter,
// at the same time.
func (c *checker) runFiltered(ctx context.Context) error {
	after, err := c.start(capture.Options{Hook: c.hook, Filter: checkFilter})
	if err != nil {
		return err
	}
	before, err := c.start(capture.Options{Entry: c.entry})
	if err != nil {
		after.stop()
		return err
	}
	m, err := sendMix(ctx, c.sender, c.dut)
	if err == nil {
		after.waitFor(ctx, []capture.Action{capture.Drop}, datagrams)
		before.waitFor(ctx, []capture.Action{capture.Entry}, pings+2*datagrams+swapped)
	}
	atEntry, serr := before.stop()
	filtered, aerr := after.stop()
	if err := errors.Join(err, serr, aerr); err != nil {
		return err
	}
	restored, err := labProgramOnLink(*c.entry)
	if err != nil {
		return err
	}
	c.filtered = &filterSeen{m: m, atEntry: atEntry.by(capture.Entry), filtered: filtered, restored: restored, sentBy: "the entry capture"}
	return nil
}

// runFilteredBare is the filter phase of a bare lab: a capture with the
// filter at the hook, judged against what the sender's interface saw
// leave it (a veth delivers those very bytes to node1's program), since
// the entry capture that would show them needs the lab's pinned link.
func (c *checker) runFilteredBare(ctx context.Context) error {
	sent, err := witness.Open(c.sender.NS, c.sender.Iface, witness.Options{Direction: witness.Out, EtherType: packet.EtherTypeIPv4})
	if err != nil {
		return err
	}
	defer sent.Close()
	after, err := c.start(capture.Options{Hook: c.hook, Filter: checkFilter})
	if err != nil {
		return err
	}
	m, err := sendMix(ctx, c.sender, c.dut)
	var frames []witness.Frame
	if err == nil {
		after.waitFor(ctx, []capture.Action{capture.Drop}, datagrams)
		frames, err = sent.Frames(grade.Quiet)
	}
	filtered, serr := after.stop()
	if err := errors.Join(err, serr); err != nil {
		return err
	}
	seen := &filterSeen{m: m, filtered: filtered, sentBy: fmt.Sprintf("what %s/%s sent", c.sender.Node, c.sender.Iface)}
	for _, f := range frames {
		seen.atEntry = append(seen.atEntry, f.Data)
	}
	c.filtered = seen
	return nil
}

// pinLearnersHook pins the hook of a bare lab's program (found by name)
// in the lab's pin directory for as long as the check captures: a capture
// opens its hook by pin. release removes the pin; one a killed check left
// is replaced.
func pinLearnersHook(env *labs.Env) (path string, release func(), err error) {
	m, err := grade.OpenMap(env, hookName, false)
	if err != nil {
		return "", nil, err
	}
	defer m.Close()
	path = env.Pin(bareHookPin)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("remove the hook pin of an earlier check: %w", err)
	}
	if err := m.Pin(path); err != nil {
		return "", nil, fmt.Errorf("pin your %s for the capture: %w", hookName, err)
	}
	return path, func() { os.Remove(path) }, nil
}

// bareHookPin is where a bare lab's check pins the learner's hook.
const bareHookPin = "bare_" + hookName

// mix is what sendMix sent and saw.
type mix struct {
	pinged  grade.Pinged
	passed  grade.Delivered // the datagrams to passPort
	swapped grade.Delivered // the datagrams to swappedPort
	tcp     grade.Exchanged // the exchange with tcpPort
	// dropFailure says why sending to dropPort stopped early, when it did.
	dropFailure error
}

// isEcho matches the pings' echo requests, and the replies a program
// made of them in place (the tx step): the hook sees a packet as the
// program left it.
func (m mix) isEcho(f *packet.Frame) bool {
	return f.Has(packet.LayerICMPv4) && (f.ICMPv4.Type == packet.ICMPv4EchoRequest || f.ICMPv4.Type == packet.ICMPv4EchoReply) &&
		int(f.ICMPv4.ID) == m.pinged.ID
}

func udpTo(port int) func(*packet.Frame) bool {
	return func(f *packet.Frame) bool {
		return f.Has(packet.LayerUDP) && int(f.UDP.DstPort) == port
	}
}

func tcpTo(port int) func(*packet.Frame) bool {
	return func(f *packet.Frame) bool {
		return f.Has(packet.LayerTCP) && int(f.TCP.DstPort) == port
	}
}

// sendMix sends from the sender to the dut: pings, datagrams to port 9, a
// TCP exchange with port 9, and datagrams to ports 7777 and 2304. Those to
// port 9 are sent without a sink, since none may arrive; the others are
// waited for. Traffic that goes wrong is in the mix, as evidence; the
// error is for a check that could not run.
func sendMix(ctx context.Context, sender, dut topology.Place) (mix, error) {
	var m mix
	var err error
	if m.pinged, err = grade.Pings(ctx, sender, dut.Addr.Addr(), pings); err != nil {
		return m, err
	}
	if err := traffic.UDP(ctx, sender.NS, netip.AddrPortFrom(dut.Addr.Addr(), dropPort), datagrams, payloadSize); err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		m.dropFailure = err
	}
	if m.tcp, err = grade.TCPExchange(ctx, sender, dut, tcpPort, []byte("hello xdpcap\n")); err != nil {
		return m, err
	}
	if m.passed, err = grade.Datagrams(ctx, sender, dut, passPort, datagrams, payloadSize); err != nil {
		return m, err
	}
	m.swapped, err = grade.Datagrams(ctx, sender, dut, swappedPort, swapped, payloadSize)
	return m, err
}

// session is an in-process capture collecting packets in memory.
type session struct {
	c       *capture.Capture
	cancel  context.CancelFunc
	done    chan error
	mu      sync.Mutex
	packets []capture.Packet
}

func startSession(opts capture.Options) (*session, error) {
	c, err := capture.Start(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- c.Run(ctx, func(p capture.Packet) error {
			s.mu.Lock()
			s.packets = append(s.packets, p)
			s.mu.Unlock()
			return nil
		})
	}()
	return s, nil
}

// waitFor gives the kernel a moment to run the program on the last packets
// sent (generic XDP runs in the receiver's softirq, a little after send
// returns): until the actions (all captured ones, for nil) have seen n
// packets between them, for at most grade.Arrival. The capture counts in a
// map and has no event to wait on, so it polls.
func (s *session) waitFor(ctx context.Context, actions []capture.Action, n uint64) {
	if actions == nil {
		actions = s.c.Actions()
	}
	ctx, cancel := context.WithTimeout(ctx, grade.Arrival)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := s.c.Stats(); err == nil {
			var got uint64
			for _, a := range actions {
				got += st[a].Received
			}
			if got >= n {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// captured is what a session saw.
type captured struct {
	packets []capture.Packet
	stats   map[capture.Action]capture.Stats
	lost    uint64 // perf lost samples
}

// by is the frames captured under one action.
func (c captured) by(a capture.Action) [][]byte {
	var out [][]byte
	for _, p := range c.packets {
		if p.Action == a {
			out = append(out, p.Data)
		}
	}
	return out
}

// fate counts, by action, the captured packets that match.
func (c captured) fate(match func(*packet.Frame) bool) map[capture.Action]int {
	out := map[capture.Action]int{}
	for _, p := range c.packets {
		if f := packet.Decode(p.Data); match(&f) {
			out[p.Action]++
		}
	}
	return out
}

// stop ends the capture: slots emptied, rings drained, counts final.
func (s *session) stop() (captured, error) {
	s.cancel()
	err := <-s.done
	st, serr := s.c.Stats()
	cerr := s.c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return captured{packets: s.packets, stats: st, lost: s.c.LostSamples()}, errors.Join(err, serr, cerr)
}

func count(frames [][]byte, match func(*packet.Frame) bool) int {
	n := 0
	for _, data := range frames {
		if f := packet.Decode(data); match(&f) {
			n++
		}
	}
	return n
}

// libpcapKeeps runs tcpdump's own filter machine (libpcap's bpf_filter) over
// frames: the independent answer to what the filter should keep, which the
// capture computes with the program translated to eBPF.
func libpcapKeeps(expr string, frames [][]byte) ([][]byte, error) {
	insns, err := filter.Compile(expr, capture.Snaplen)
	if err != nil {
		return nil, err
	}
	var keep [][]byte
	for _, data := range frames {
		ok, err := filter.Match(insns, data)
		if err != nil {
			return nil, fmt.Errorf("libpcap filter %q: %w", expr, err)
		}
		if ok {
			keep = append(keep, data)
		}
	}
	return keep, nil
}

// labProgramOnLink reports whether the lab's link runs the lab's program.
func labProgramOnLink(e capture.EntryPoint) (bool, error) {
	l, err := link.LoadPinnedLink(e.Link, nil)
	if err != nil {
		return false, fmt.Errorf("open link %s: %w", e.Link, err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		return false, fmt.Errorf("link info: %w", err)
	}
	p, err := ebpf.LoadPinnedProgram(e.Program, nil)
	if err != nil {
		return false, fmt.Errorf("open program %s: %w", e.Program, err)
	}
	defer p.Close()
	pinfo, err := p.Info()
	if err != nil {
		return false, err
	}
	id, _ := pinfo.ID()
	return info.Program == id, nil
}
