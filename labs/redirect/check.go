package redirect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// pings is how many echo requests each phase of the check sends.
const pings = 3

// swapper swaps the program in node1's pinned links and back. Replacing the
// program of a bpf_link is atomic and keeps the link, its pin and its mode,
// so the lab is left attached exactly as `up` made it.
type swapper struct {
	links []link.Link
	lab   *ebpf.Program // the pinned xdp_test (or the learner's)
	pass  *ebpf.Program
}

func openSwapper(env *labs.Env) (*swapper, error) {
	s := &swapper{}
	var err error
	if s.lab, err = ebpf.LoadPinnedProgram(env.Pin(progPin), nil); err != nil {
		return nil, fmt.Errorf("open pinned program %s: %w", progName, err)
	}
	for _, iface := range reflectors {
		l, err := link.LoadPinnedLink(env.Pin(reflectorPin(iface)), nil)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open xdp link of node1/%s: %w", iface, err)
		}
		s.links = append(s.links, l)
	}
	if s.pass, err = passProgram(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *swapper) use(p *ebpf.Program) error {
	for i, l := range s.links {
		err := l.Update(p)
		if errors.Is(err, unix.EINVAL) && p == s.pass {
			// The lab program was loaded without an expected attach
			// type; so must its stand-in be.
			if err = s.passWithoutAttachType(); err == nil {
				p = s.pass
				err = l.Update(p)
			}
		}
		if err != nil {
			return fmt.Errorf("replace program on node1/%s: %w", reflectors[i], err)
		}
	}
	return nil
}

func (s *swapper) passWithoutAttachType() error {
	pass, err := passProgramFor(ebpf.AttachNone)
	if err != nil {
		return err
	}
	s.pass.Close()
	s.pass = pass
	return nil
}

// restore puts the lab's program back; it also repairs links left running
// xdp_pass by a check that was killed half-way.
func (s *swapper) restore() error { return s.use(s.lab) }

func (s *swapper) Close() {
	for _, l := range s.links {
		l.Close() // closes our fd; the pin keeps the link
	}
	if s.lab != nil {
		s.lab.Close()
	}
	if s.pass != nil {
		s.pass.Close()
	}
}

// observation is one Pings step from the sender to the receiver's address,
// recorded by witnesses on both ends that do not depend on the program or on
// who the packets are addressed to.
type observation struct {
	ping     grade.Pinged
	sender   []witness.Frame // IPv4 frames on the sender's interface (host/veth0)
	receiver []witness.Frame // ICMP frames on the receiver's interface (node2/veth3)
}

func observe(ctx context.Context, sender, receiver topology.Place) (*observation, error) {
	opts := witness.Options{EtherType: packet.EtherTypeIPv4}
	sw, err := witness.Open(sender.NS, sender.Iface, opts)
	if err != nil {
		return nil, err
	}
	defer sw.Close()
	rw, err := witness.Open(receiver.NS, receiver.Iface, opts)
	if err != nil {
		return nil, err
	}
	defer rw.Close()
	p, err := grade.Pings(ctx, sender, receiver.Addr.Addr(), pings)
	if err != nil {
		return nil, fmt.Errorf("ping from %s to %s: %w", sender.Node, receiver.Addr.Addr(), err)
	}
	// Both witnesses wait out the same quiet period, side by side: a reply
	// the receiver sends late is caught.
	frames, err := witness.Collect(grade.Quiet, sw, rw)
	if err != nil {
		return nil, err
	}
	o := &observation{ping: p, sender: frames[0]}
	for _, f := range frames[1] {
		if f.Packet.Has(packet.LayerICMPv4) {
			o.receiver = append(o.receiver, f)
		}
	}
	return o, nil
}

// exchanges are the frames the sender's interface must show for each ping
// while the program reflects: its request out, the request reflected in
// (source and destination swapped), its reply to that out, the reply
// reflected in.
func (o *observation) exchanges(src, dst netip.Addr) [][]grade.Step {
	id := uint16(o.ping.ID)
	var want [][]grade.Step
	for seq := uint16(1); seq <= pings; seq++ {
		want = append(want, []grade.Step{
			grade.EchoStep(true, packet.ICMPv4EchoRequest, src, dst, id, seq),
			grade.EchoStep(false, packet.ICMPv4EchoRequest, dst, src, id, seq),
			grade.EchoStep(true, packet.ICMPv4EchoReply, src, dst, id, seq),
			grade.EchoStep(false, packet.ICMPv4EchoReply, dst, src, id, seq),
		})
	}
	return want
}

// reflected lists the sequence numbers of the sender's own echo requests
// that came back to it from dst, as its ping socket saw them.
func (o *observation) reflected(src, dst netip.Addr) []int {
	var seqs []int
	for _, e := range o.ping.Requests {
		if e.From == dst && e.To == src && e.ID == o.ping.ID && !slices.Contains(seqs, e.Seq) {
			seqs = append(seqs, e.Seq)
		}
	}
	slices.Sort(seqs)
	return seqs
}

// receiverSaw counts echo requests arriving at and replies leaving the
// receiver, whose address is dst.
func (o *observation) receiverSaw(dst netip.Addr) (requestsIn, repliesOut int) {
	for _, f := range o.receiver {
		ip, icmp := &f.Packet.IPv4, &f.Packet.ICMPv4
		switch {
		case !f.Out && icmp.Type == packet.ICMPv4EchoRequest && ip.Dst == dst:
			requestsIn++
		case f.Out && icmp.Type == packet.ICMPv4EchoReply && ip.Src == dst:
			repliesOut++
		}
	}
	return requestsIn, repliesOut
}

// frameHint reads the sender's witness for a mistake that shows in the
// frames themselves: echoes of the ping that came back unchanged, or
// addressed to another MAC than the sender's. It is "" when the frames show
// neither.
func (o *observation) frameHint(sender topology.Place, dst netip.Addr) string {
	src := sender.Addr.Addr()
	for _, f := range o.sender {
		ip, icmp := &f.Packet.IPv4, &f.Packet.ICMPv4
		if f.Out || !f.Packet.Has(packet.LayerICMPv4) || int(icmp.ID) != o.ping.ID {
			continue
		}
		switch {
		case ip.Src == src && ip.Dst == dst:
			return fmt.Sprintf("the echo requests came back to %s/%s unchanged (%s): swap the IP addresses, "+
				"source %s and destination %s, before redirecting", sender.Node, sender.Iface, f.Packet.Summary(), dst, src)
		case ip.Src == dst && ip.Dst == src && len(sender.MAC) > 0 && !bytes.Equal(f.Packet.Ethernet.Dst, sender.MAC):
			return fmt.Sprintf("the reflected frames reach %s/%s addressed to MAC %s, not to its own %s, so its kernel drops them: "+
				"copy the lookup's dmac and smac into the Ethernet header", sender.Node, sender.Iface, f.Packet.Ethernet.Dst, sender.MAC)
		}
	}
	return ""
}

// passedOnHint is the hint when the echo requests reached the receiver:
// the program passed them and the dut routed them on. It is "" when none
// arrived there.
func (o *observation) passedOnHint(dut, receiver topology.Place) string {
	in, _ := o.receiverSaw(receiver.Addr.Addr())
	if in == 0 {
		return ""
	}
	return fmt.Sprintf("the echo requests went on to %s (%d of %d arrived there): the program passed them to %s's kernel, which routed them; "+
		"redirect ICMP back out of the interface it came in on", receiver.Node, in, pings, dut.Node)
}

// vanishedHint is the hint when nothing of the ping came back to the sender
// and nothing reached the receiver. It is "" when something did.
func (o *observation) vanishedHint(sender, dut, receiver topology.Place) string {
	cameBack := slices.ContainsFunc(o.sender, func(f witness.Frame) bool {
		return !f.Out && f.Packet.Has(packet.LayerICMPv4) && int(f.Packet.ICMPv4.ID) == o.ping.ID
	})
	if cameBack || len(o.receiver) > 0 {
		return ""
	}
	return fmt.Sprintf("the echo requests went into %s/%s and came out nowhere, neither back to %s nor on to %s: "+
		"the program dropped them (XDP_DROP, or XDP_ABORTED from a failed bpf_redirect_map) or redirected them out of an interface that does not lead back",
		dut.Node, dut.Iface, sender.Node, receiver.Node)
}

func seqList(seqs []int) string {
	if len(seqs) == 0 {
		return "none"
	}
	s := make([]string, len(seqs))
	for i, v := range seqs {
		s[i] = fmt.Sprint(v)
	}
	return fmt.Sprintf("%d (seq %s)", len(seqs), strings.Join(s, ","))
}

// Check pings the receiver (node2) from the sender (the host) twice: first
// with xdp_test swapped out of node1's links for xdp_pass (node2 answers:
// the network works without the program), then with xdp_test back (node1
// reflects everything and node2 sees nothing). Witnesses on the sender's and
// the receiver's interfaces record the frames independently of the program.
// A ping that goes wrong is evidence for the expectations, never an error.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	sender, dut, receiver := env.Topo.MustRole("sender"), env.Topo.MustRole("dut"), env.Topo.MustRole("receiver")
	src, dst := sender.Addr.Addr(), receiver.Addr.Addr()
	forward, err := dut.NS.ReadSysctl("net.ipv4.ip_forward")
	if err != nil {
		return nil, err
	}
	sit := situation{instance: env.Instance, node1: dut.NS.Name, native: env.Options.Mode == labs.ModeNative, forward: forward, rebuild: env.RebuildFix()}

	// Before: the program swapped out, in a lab that up loaded.
	without, err := withoutProgram(ctx, env, sit)
	if err != nil {
		return nil, err
	}
	results := []labs.Result{without}

	// After: xdp_test attached as `up` left it, measured by fib_results
	// when the object has it.
	m, counted, err := openResults(env)
	if err != nil {
		return results, err
	}
	var (
		after *observation
		d     grade.Counters[uint32]
	)
	act := func() (err error) {
		after, err = observe(ctx, sender, receiver)
		return err
	}
	if counted {
		defer m.Close()
		var actErr error
		d, actErr, err = grade.Measure[uint32](ctx, m, act)
		err = errors.Join(actErr, err)
	} else {
		err = act()
	}
	if err != nil {
		return results, err
	}

	// The hint comes from the most specific evidence: pings that could not
	// be sent, frames that show the mistake, then what the program counted,
	// then where the pings went.
	hint := after.ping.NotSentHint(env)
	if hint == "" {
		hint = after.frameHint(sender, dst)
	}
	if hint == "" && counted {
		hint = explain(d, sit)
	}
	passedOn := after.passedOnHint(dut, receiver)
	if hint == "" {
		hint = passedOn
	}
	if hint == "" {
		hint = after.vanishedHint(sender, dut, receiver)
	}
	if hint == "" {
		hint = fallbackHint
	}
	seqs := after.reflected(src, dst)
	all := make([]int, pings)
	for i := range all {
		all[i] = i + 1
	}
	results = append(results, labs.Expect(
		fmt.Sprintf("%s gets its %d echo requests back from %s, same id and seq", sender.Node, pings, dst),
		seqList(all), seqList(seqs), hint))

	replyHint := hint
	if len(seqs) == pings {
		replyHint = fmt.Sprintf("the requests come back but %s's replies to them do not: reflect every ICMP packet, echo replies too, not only echo requests", sender.Node)
	}
	results = append(results, grade.PingsAnswered(
		fmt.Sprintf("%s's ping counts %d replies from %s (its own replies, reflected)", sender.Node, pings, dst),
		after.ping, replyHint))

	receiverHint := hint
	if hint != passedOn {
		receiverHint = fmt.Sprintf("whatever %s passes, %s routes on to %s: redirect ICMP back out of the interface it came in on. %s",
			progName, dut.Node, receiver.Node, hint)
	}
	results = append(results, grade.NoFrames(fmt.Sprintf("%s receives no ICMP", receiver.Node), after.receiver, receiverHint))

	each := fmt.Sprintf("out %[1]s > %[2]s echo request, in %[2]s > %[1]s echo request, out %[1]s > %[2]s echo reply, in %[2]s > %[1]s echo reply", src, dst)
	results = append(results, grade.FrameSequences(
		fmt.Sprintf("%s/%s shows the 4-packet sequence for each ping", sender.Node, sender.Iface),
		each, after.exchanges(src, dst), after.sender, hint))

	if counted {
		want := grade.Counters[uint32]{fibSuccess: 2 * pings, resultRedirect: 2 * pings}
		results = append(results, labs.Assert(
			"fib_results: every lookup SUCCESS, every packet redirected",
			maps.Equal(d, want), want.Format(ResultName), d.Format(ResultName), hint))
	}
	return results, nil
}

// withoutProgram pings the receiver from the sender with xdp_pass swapped
// into node1's pinned links in xdp_test's place: node2 must answer, since
// the network works without the program. xdp_test goes back whatever
// happens. A bare lab has no pinned links: the learner's loader holds the
// attachment, which the check leaves alone, so this is skipped there.
func withoutProgram(ctx context.Context, env *labs.Env, sit situation) (labs.Result, error) {
	sender, dut, receiver := env.Topo.MustRole("sender"), env.Topo.MustRole("dut"), env.Topo.MustRole("receiver")
	dst := receiver.Addr.Addr()
	at := receiver.Node + "/" + receiver.Iface
	name := fmt.Sprintf("without %s, %d pings %s -> %s are answered by %s", progName, pings, sender.Node, dst, receiver.Node)
	expected := fmt.Sprintf("%d replies; %s: %d requests in, %d replies out", pings, at, pings, pings)
	if env.Options.Bare {
		return labs.Skip(name, expected,
			"in a bare lab your loader holds the attachment on node1's interfaces, and the check does not take your program off them to see the network work without it; a lab up without --bare (with --obj for your object) checks this too"), nil
	}
	sw, err := openSwapper(env)
	if err != nil {
		return labs.Result{}, err
	}
	defer sw.Close()
	if err := sw.restore(); err != nil {
		return labs.Result{}, err
	}
	if err := sw.use(sw.pass); err != nil {
		return labs.Result{}, errors.Join(err, sw.restore())
	}
	before, err := observe(ctx, sender, receiver)
	if rerr := sw.restore(); rerr != nil {
		return labs.Result{}, errors.Join(err, rerr)
	}
	if err != nil {
		return labs.Result{}, err
	}
	in, out := before.receiverSaw(dst)
	hint := fmt.Sprintf("without the program %s routes between %s and %s by itself; this failing means the topology is broken, not your program: %s",
		dut.Node, sender.Node, receiver.Node, sit.rebuild)
	if h := before.ping.NotSentHint(env); h != "" {
		hint = h
	}
	if sit.forward != "1" {
		hint = fmt.Sprintf("ip_forward is off in %s (net.ipv4.ip_forward = %s there), so %s does not route between %s and %s; the lab sets it to 1: %s",
			dut.Node, sit.forward, dut.Node, sender.Node, receiver.Node, sit.rebuild)
	}
	return labs.Assert(name,
		before.ping.Received == pings && before.ping.Failure == nil && in == pings && out == pings,
		expected, fmt.Sprintf("%s; %s: %d requests in, %d replies out", before.ping, at, in, out), hint), nil
}

// Watch prints the per-result counters once a second: how the lookups ended
// and how many packets were redirected.
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
