package redirect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
)

// pings is how many echo requests each phase of the check sends.
const pings = 3

var (
	hostAddr  = netip.MustParseAddr("192.168.0.3")
	node2Addr = netip.MustParseAddr("192.168.1.5")
)

// quiet is how long the witnesses wait for stragglers after a ping: long
// enough for node2's reply to a request that wrongly reached it.
const quiet = 200 * time.Millisecond

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

// observation is one ping from host to 192.168.1.5 with both witnesses.
type observation struct {
	ping  *traffic.PingResult
	host  []frame // ICMP on host/veth0 of this ping's id
	node2 []frame // every ICMP frame on node2/veth3
}

func observe(ctx context.Context, env *labs.Env) (*observation, error) {
	host, node2 := env.Topo.MustNS("host"), env.Topo.MustNS("node2")
	hs, err := sniff(host, "veth0")
	if err != nil {
		return nil, err
	}
	ns, err := sniff(node2, "veth3")
	if err != nil {
		hs.collect(0)
		return nil, err
	}
	ping, perr := traffic.Ping(ctx, host, node2Addr, traffic.PingOptions{Count: pings})
	// Both witnesses wait out the same quiet period, side by side.
	var nf []frame
	var nerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		nf, nerr = ns.collect(quiet)
	}()
	hf, herr := hs.collect(quiet)
	<-done
	if err := errors.Join(perr, herr, nerr); err != nil {
		return nil, fmt.Errorf("ping from host to %s: %w", node2Addr, err)
	}
	o := &observation{ping: ping, node2: nf}
	for _, f := range hf {
		if int(f.ID) == ping.ID {
			o.host = append(o.host, f)
		}
	}
	return o, nil
}

// sequence counts the host's side of each ping: request out, reflected
// request in, reply out, reflected reply in.
type sequence struct{ reqOut, reqIn, repOut, repIn int }

func (o *observation) sequence() sequence {
	var s sequence
	for _, f := range o.host {
		toNode2 := f.Out && f.Src == hostAddr && f.Dst == node2Addr
		fromNode2 := !f.Out && f.Src == node2Addr && f.Dst == hostAddr
		switch {
		case toNode2 && f.Type == 8:
			s.reqOut++
		case fromNode2 && f.Type == 8:
			s.reqIn++
		case toNode2 && f.Type == 0:
			s.repOut++
		case fromNode2 && f.Type == 0:
			s.repIn++
		}
	}
	return s
}

func (s sequence) String() string {
	return fmt.Sprintf("%d requests out, %d reflected requests in, %d replies out, %d reflected replies in",
		s.reqOut, s.reqIn, s.repOut, s.repIn)
}

// reflected lists the sequence numbers of the host's own echo requests that
// came back from 192.168.1.5 to 192.168.0.3.
func (o *observation) reflected() []int {
	var seqs []int
	for _, e := range o.ping.Requests {
		if e.From == node2Addr && e.To == hostAddr && e.ID == o.ping.ID && !slices.Contains(seqs, e.Seq) {
			seqs = append(seqs, e.Seq)
		}
	}
	slices.Sort(seqs)
	return seqs
}

// node2Saw counts echo requests arriving at and replies leaving node2.
func (o *observation) node2Saw() (requestsIn, repliesOut int) {
	for _, f := range o.node2 {
		switch {
		case !f.Out && f.Type == 8 && f.Dst == node2Addr:
			requestsIn++
		case f.Out && f.Type == 0 && f.Src == node2Addr:
			repliesOut++
		}
	}
	return requestsIn, repliesOut
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

// Check pings 192.168.1.5 from the host twice: first with xdp_test swapped
// out of node1's links for xdp_pass (node2 answers: the network works
// without the program), then with xdp_test back (node1 reflects everything
// and node2 sees nothing). Witnesses on host/veth0 and node2/veth3 record
// the ICMP frames independently of the program.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	sw, err := openSwapper(env)
	if err != nil {
		return nil, err
	}
	defer sw.Close()
	if err := sw.restore(); err != nil {
		return nil, err
	}
	forward, err := env.Topo.MustNS("node1").ReadSysctl("net.ipv4.ip_forward")
	if err != nil {
		return nil, err
	}
	sit := situation{instance: env.Instance, native: env.Options.Mode == labs.ModeNative, forward: forward}

	// Before: the program swapped out. It goes back in whatever happens.
	if err := sw.use(sw.pass); err != nil {
		return nil, errors.Join(err, sw.restore())
	}
	before, err := observe(ctx, env)
	if rerr := sw.restore(); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	if err != nil {
		return nil, err
	}
	var results []labs.Result
	in, out := before.node2Saw()
	rebuild := sit.cmd("down redirect") + " and " + sit.cmd("up redirect") + " rebuild it"
	beforeHint := "without the program node1 routes between host and node2 by itself; this failing means the topology is broken, not your program: " + rebuild
	if forward != "1" {
		beforeHint = fmt.Sprintf("ip_forward is off in node1 (net.ipv4.ip_forward = %s there), so node1 does not route between host and node2; the lab sets it to 1: %s", forward, rebuild)
	}
	results = append(results, labs.Assert(
		fmt.Sprintf("without xdp_test, %d pings host -> %s are answered by node2", pings, node2Addr),
		before.ping.Received == pings && in == pings && out == pings,
		fmt.Sprintf("%d replies; node2/veth3: %d requests in, %d replies out", pings, pings, pings),
		fmt.Sprintf("%d replies; node2/veth3: %d requests in, %d replies out", before.ping.Received, in, out),
		beforeHint))

	// After: xdp_test attached as `up` left it.
	c0, counted, err := readCounts(env)
	if err != nil {
		return results, err
	}
	after, err := observe(ctx, env)
	if err != nil {
		return results, err
	}
	hint := fallbackHint
	var d Counts
	if counted {
		c1, _, err := readCounts(env)
		if err != nil {
			return results, err
		}
		d = c1.Sub(c0)
		if h := explain(d, sit); h != "" {
			hint = h
		}
	}
	seqs := after.reflected()
	all := make([]int, pings)
	for i := range all {
		all[i] = i + 1
	}
	results = append(results, labs.Expect(
		fmt.Sprintf("host gets its %d echo requests back from %s, same id and seq", pings, node2Addr),
		seqList(all), seqList(seqs), hint))

	replyHint := hint
	if len(seqs) == pings {
		replyHint = "the requests come back but the host's replies to them do not: reflect every ICMP packet, echo replies too, not only echo requests"
	}
	results = append(results, labs.Expect(
		fmt.Sprintf("host's ping counts %d replies from %s (its own replies, reflected)", pings, node2Addr),
		pings, after.ping.Received, replyHint))

	node2Hint := "whatever xdp_test passes, node1 routes on to node2: redirect ICMP back out of the interface it came in on. " + hint
	results = append(results, labs.Assert("node2 receives no ICMP",
		len(after.node2) == 0, "0 ICMP frames on node2/veth3",
		describeFrames(after.node2), node2Hint))

	seq := after.sequence()
	results = append(results, labs.Expect(
		"host/veth0 shows the 4-packet sequence for each ping",
		sequence{pings, pings, pings, pings}.String(), seq.String(), hint))

	if counted {
		results = append(results, labs.Expect(
			"fib_results: every lookup SUCCESS, every packet redirected",
			fmt.Sprintf("SUCCESS %d, redirected %d, failures none", 2*pings, 2*pings),
			fmt.Sprintf("SUCCESS %d, redirected %d, failures %s", d[fibSuccess], d[resultRedirect], orNone(d.Failures())),
			hint))
	}
	return results, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func describeFrames(fs []frame) string {
	if len(fs) == 0 {
		return "0 ICMP frames"
	}
	return fmt.Sprintf("%d ICMP frames, first: %s", len(fs), fs[0])
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
