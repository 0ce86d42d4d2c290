package xdpcap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
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

// Traffic the check sends from the sender to node1.
const (
	pings     = 3
	datagrams = 5
	dropPort  = 9    // discard: the program drops it
	passPort  = 7777 // anything else: passed
)

// checkFilter keeps packets of two actions and leaves out a third kind, so
// received, matched and filtered all move.
const checkFilter = "icmp or udp port 9"

// Check captures (with the same engine as `xdplab capture`) while sending
// pings, UDP to port 9 and UDP to port 7777 from the sender to node1: first
// every action with no filter, then before the program (--entry) and, at
// once, after it with a filter, which must keep exactly what libpcap keeps
// of the entry capture.
//
// In a bare lab the hook is the learner's, found by name among the maps of
// the program they attached; the entry capture is skipped (see
// filteredBare).
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
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	// A capture started while the check runs takes a place the check
	// needs next: the check could not go on, through no fault of the
	// program.
	start := func(opts capture.Options) (*session, error) {
		s, err := startSession(opts)
		if errors.Is(err, capture.ErrBusy) {
			if berr := inUse(env, hook, entry); berr != nil {
				return nil, berr
			}
		}
		return s, err
	}
	var results []labs.Result

	// 1. Every action, no filter.
	all, err := start(capture.Options{Hook: hook})
	if err != nil {
		return nil, err
	}
	m, err := sendMix(ctx, sender, dut)
	if err == nil {
		all.waitFor(ctx, capture.Drop, datagrams)
	}
	got, serr := all.stop()
	if err := errors.Join(err, serr); err != nil {
		return nil, err
	}
	results = append(results,
		grade.PingsAnswered("", m.pinged,
			"the program must pass ICMP: return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS) for anything that is not UDP to port 9"),
		grade.DatagramsArrived("", m.passed,
			"only port 9 is dropped; other UDP must go through xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS)"))
	pass, drop := got.by(capture.Pass), got.by(capture.Drop)
	dropped := fmt.Sprintf("%d to port %d, %d other", count(drop, udpTo(dropPort)), dropPort, len(drop)-count(drop, udpTo(dropPort)))
	if m.dropFailure != nil {
		dropped += fmt.Sprintf(" (sending to port %d failed: %v)", dropPort, m.dropFailure)
	}
	results = append(results,
		grade.ExactCount("the echo requests appear under XDPpass", pings, count(pass, m.isEchoRequest),
			"end every path with `return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);`: a plain `return XDP_PASS;` never reaches the hook, so no capture sees the packet"),
		grade.ExactCount(fmt.Sprintf("the UDP datagrams to port %d appear under XDPpass", passPort), datagrams, count(pass, udpTo(passPort)),
			"only port 9 is dropped; other UDP must go through xdpcap_exit with XDP_PASS"),
		labs.Expect(fmt.Sprintf("XDPdrop holds the %d datagrams to port %d and nothing else", datagrams, dropPort),
			fmt.Sprintf("%d to port %d, 0 other", datagrams, dropPort), dropped,
			"drop exactly UDP with udp->dest == bpf_htons(9), through xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP), so the capture sees the drop under XDPdrop"),
		grade.ExactCount(fmt.Sprintf("no datagram to port %d is passed", dropPort), 0, count(pass, udpTo(dropPort)),
			"compare the destination port in network byte order: udp->dest == bpf_htons(9)"),
		lossless("without a filter, every captured packet is delivered, none lost", got),
	)

	// 2. Before the program, and after it with a filter, at the same time.
	if entry == nil {
		filtered, err := filteredBare(ctx, env, start, hook)
		return append(results, filtered...), err
	}
	after, err := start(capture.Options{Hook: hook, Filter: checkFilter})
	if err != nil {
		return results, err
	}
	before, err := start(capture.Options{Entry: entry})
	if err != nil {
		after.stop()
		return results, err
	}
	m, err = sendMix(ctx, sender, dut)
	if err == nil {
		after.waitFor(ctx, capture.Drop, datagrams)
		before.waitFor(ctx, capture.Entry, 2*datagrams+pings)
	}
	atEntry, serr := before.stop()
	filtered, aerr := after.stop()
	if err := errors.Join(err, serr, aerr); err != nil {
		return results, err
	}
	seen := atEntry.by(capture.Entry)
	results = append(results, labs.Expect(entrySeesMix,
		fmt.Sprintf("%d, %d, %d", pings, datagrams, datagrams),
		fmt.Sprintf("%d, %d, %d", count(seen, m.isEchoRequest), count(seen, udpTo(dropPort)), count(seen, udpTo(passPort))),
		"the front program captures, then tail-calls the lab program through next_prog; every packet passes it whatever the lab program then decides"))
	restored, err := labProgramOnLink(*entry)
	if err != nil {
		return results, err
	}
	results = append(results, labs.Assert(entryRestored, restored, "true", fmt.Sprint(restored),
		"the capture swaps its front program in through the pinned bpf_link and must swap the original back when it ends"))

	want, err := libpcapKeeps(checkFilter, seen)
	if err != nil {
		return results, err
	}
	results = append(results, sameBytes(fmt.Sprintf("filter %q keeps exactly what tcpdump keeps of the entry capture", checkFilter), want, filtered.packets))
	results = append(results, balanced(filtered), lossless("with a filter, every kept packet is delivered, none lost", filtered))
	return results, nil
}

// Names of the expectations about the entry capture, which a bare lab
// skips.
const (
	entrySeesMix  = "--entry sees the whole mix before the program ran (echo requests, to port 9, to port 7777)"
	entryRestored = "the lab program is back on its link after --entry"
	entrySkipped  = "--entry swaps a front program into the lab's pinned bpf_link; in a bare lab your loader holds the attachment, and the check does not replace your program on it"
)

// bareHookPin is where a bare lab's check pins the learner's hook.
const bareHookPin = "bare_" + hookName

// filteredBare is step 2 of a bare lab's check: a capture with a filter
// at the hook, judged against what the sender's interface saw leave it (a
// veth delivers those very bytes to node1's program), since the entry
// capture that would show them needs the lab's pinned link.
func filteredBare(ctx context.Context, env *labs.Env, start func(capture.Options) (*session, error), hook string) ([]labs.Result, error) {
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	results := []labs.Result{
		labs.Skip(entrySeesMix, fmt.Sprintf("%d, %d, %d", pings, datagrams, datagrams), entrySkipped),
		labs.Skip(entryRestored, "true", entrySkipped),
	}
	sent, err := witness.Open(sender.NS, sender.Iface, witness.Options{Direction: witness.Out, EtherType: packet.EtherTypeIPv4})
	if err != nil {
		return results, err
	}
	defer sent.Close()
	after, err := start(capture.Options{Hook: hook, Filter: checkFilter})
	if err != nil {
		return results, err
	}
	_, err = sendMix(ctx, sender, dut)
	var frames []witness.Frame
	if err == nil {
		after.waitFor(ctx, capture.Drop, datagrams)
		frames, err = sent.Frames(grade.Quiet)
	}
	filtered, serr := after.stop()
	if err := errors.Join(err, serr); err != nil {
		return results, err
	}
	var seen [][]byte
	for _, f := range frames {
		seen = append(seen, f.Data)
	}
	want, err := libpcapKeeps(checkFilter, seen)
	if err != nil {
		return results, err
	}
	results = append(results,
		sameBytes(fmt.Sprintf("filter %q keeps exactly what tcpdump keeps of what %s/%s sent", checkFilter, sender.Node, sender.Iface), want, filtered.packets),
		balanced(filtered), lossless("with a filter, every kept packet is delivered, none lost", filtered))
	return results, nil
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

// mix is what sendMix sent and saw.
type mix struct {
	pinged grade.Pinged
	passed grade.Delivered // the datagrams to passPort
	// dropFailure says why sending to dropPort stopped early, when it did.
	dropFailure error
}

func (m mix) isEchoRequest(f *packet.Frame) bool {
	return f.Has(packet.LayerICMPv4) && f.ICMPv4.Type == packet.ICMPv4EchoRequest && int(f.ICMPv4.ID) == m.pinged.ID
}

func udpTo(port int) func(*packet.Frame) bool {
	return func(f *packet.Frame) bool {
		return f.Has(packet.LayerUDP) && int(f.UDP.DstPort) == port
	}
}

// sendMix sends from the sender to the dut: pings, datagrams to port 9 and
// datagrams to port 7777. Those to port 9 are sent without a sink, since
// none may arrive; those to port 7777 are waited for at a sink. Traffic that
// goes wrong is in the mix, as evidence; the error is for a check that
// could not run.
func sendMix(ctx context.Context, sender, dut topology.Place) (mix, error) {
	var m mix
	var err error
	if m.pinged, err = grade.Pings(ctx, sender, dut.Addr.Addr(), pings); err != nil {
		return m, err
	}
	if err := traffic.UDP(ctx, sender.NS, netip.AddrPortFrom(dut.Addr.Addr(), dropPort), datagrams, 32); err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		m.dropFailure = err
	}
	m.passed, err = grade.Datagrams(ctx, sender, dut, passPort, datagrams, 32)
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
// returns): until an action has seen n packets, for at most grade.Arrival.
// The capture counts in a map and has no event to wait on, so it polls.
func (s *session) waitFor(ctx context.Context, a capture.Action, n uint64) {
	ctx, cancel := context.WithTimeout(ctx, grade.Arrival)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := s.c.Stats(); err == nil && st[a].Received >= n {
			return
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

// lossless: nothing lost in the perf ring, and every matched packet written.
func lossless(name string, c captured) labs.Result {
	var matched, written, lost uint64
	for _, s := range c.stats {
		matched += s.Matched
		written += s.Written
		lost += s.Lost
	}
	return labs.Expect(name,
		fmt.Sprintf("lost 0, written %d of %d matched", matched, matched),
		fmt.Sprintf("lost %d, written %d of %d matched", max(lost, c.lost), written, matched),
		"the perf ring overflowed or samples were cut short: a capture program must send meta and packet in one bpf_perf_event_output and the reader must keep up")
}

// balanced: received = matched + filtered for every action.
func balanced(c captured) labs.Result {
	ok := true
	var parts []string
	for _, a := range capture.XDPActions {
		s, present := c.stats[a]
		if !present || s.Received == 0 {
			continue
		}
		ok = ok && s.Received == s.Matched+s.Filtered
		parts = append(parts, fmt.Sprintf("%s %d = %d + %d", a.Interface(), s.Received, s.Matched, s.Filtered))
	}
	obs := strings.Join(parts, "; ")
	if len(parts) == 0 {
		ok, obs = false, "no packet received"
	}
	return labs.Assert("with a filter, received = matched + filtered for every action", ok, "equal", obs,
		"each capture program counts a packet once as received and once as either matched or filtered")
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

// sameBytes compares two captures as multisets of frames.
func sameBytes(name string, want [][]byte, got []capture.Packet) labs.Result {
	diff := map[string]int{}
	for _, b := range want {
		diff[string(b)]++
	}
	for _, p := range got {
		diff[string(p.Data)]--
	}
	missing, extra := 0, 0
	for _, d := range diff {
		if d > 0 {
			missing += d
		} else {
			extra -= d
		}
	}
	return labs.Expect(name,
		fmt.Sprintf("%d packets, 0 missing, 0 extra", len(want)),
		fmt.Sprintf("%d packets, %d missing, %d extra", len(got), missing, extra),
		"the filter runs in the capture program on the packet as the program left it; a packet the lab program changed would differ from the entry copy")
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
