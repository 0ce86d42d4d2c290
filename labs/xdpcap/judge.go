package xdpcap

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// exercise is what a step expects, and where its starter leaves each part
// of the program to the learner: " (TODO 1 in xdpcap.c)", or "" where the
// step's starter has it written, so that a hint sends the learner to the
// gap they filled.
type exercise struct {
	chain, tx bool
	// rule is where the port-9 decision is written; exit where the
	// verdicts leave through the hook; dropExit where the drop verdict
	// does.
	rule, exit, dropExit string
	// tail (chain) is where xdp_discard tail-calls xdp_udp and returns
	// XDP_ABORTED after a failed tail call.
	tail string
	// rewrite (tx) is where the request becomes its reply; txAction where
	// it gets XDP_TX.
	rewrite, txAction string
}

func todo(n int) string { return fmt.Sprintf(" (TODO %d in xdpcap.c)", n) }

var exercises = map[string]exercise{
	"":        {rule: todo(1), exit: todo(2), dropExit: todo(2)},
	stepChain: {chain: true, tail: todo(1), rule: todo(2), dropExit: todo(2)},
	stepTX:    {tx: true, rewrite: todo(1), txAction: todo(2)},
}

// xdpName is the kernel's name of an action: XDP_ABORTED.
func xdpName(a capture.Action) string { return "XDP_" + strings.ToUpper(a.String()) }

// judge turns what the phases saw into expectations, in the order the
// phases ran; a phase that did not run to its end is left out.
func (c *checker) judge() []labs.Result {
	var r []labs.Result
	if c.alone != nil {
		r = append(r, c.judgeAlone()...)
	}
	if c.hooked != nil {
		r = append(r, c.judgeHooked()...)
	}
	if c.filtered != nil {
		r = append(r, c.judgeFiltered()...)
	}
	if c.unchained != nil {
		r = append(r, c.judgeUnchained()...)
	}
	return r
}

// hookFate is where the hook capture saw the packets match picks, or nil
// when that phase did not run.
func (c *checker) hookFate(match func(m mix) func(*packet.Frame) bool) map[capture.Action]int {
	if c.hooked == nil {
		return nil
	}
	return c.hooked.got.fate(match(c.hooked.m))
}

func fixed(f func(*packet.Frame) bool) func(mix) func(*packet.Frame) bool {
	return func(mix) func(*packet.Frame) bool { return f }
}

func echoes(m mix) func(*packet.Frame) bool { return m.isEcho }

func total(fate map[capture.Action]int) int {
	n := 0
	for _, v := range fate {
		n += v
	}
	return n
}

// fateText is "3 under XDPdrop, 2 under XDPaborted", or "none at any hook
// slot".
func fateText(fate map[capture.Action]int) string {
	var parts []string
	for _, a := range capture.XDPActions {
		if fate[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d under %s", fate[a], a.Interface()))
		}
	}
	if len(parts) == 0 {
		return "none at any hook slot"
	}
	return strings.Join(parts, ", ")
}

// went explains, from where the hook capture saw them, why packets that
// belong under want are not all there: they went to XDP_ABORTED, or no
// slot saw them, or they went to another action (then why says what to
// change). It returns "" when the capture gives no evidence.
func (c *checker) went(what string, fate map[capture.Action]int, want capture.Action, why string) string {
	if fate == nil {
		return ""
	}
	if want != capture.Aborted && fate[capture.Aborted] > 0 {
		return fmt.Sprintf("the %s went to XDP_ABORTED: %s", what, c.abortedWhy(what))
	}
	if total(fate) == 0 {
		return fmt.Sprintf("no hook slot saw the %s: %s", what, c.noHook(what))
	}
	for _, a := range capture.XDPActions {
		if a != want && fate[a] > 0 {
			return fmt.Sprintf("the %s went to %s, not %s: %s", what, xdpName(a), xdpName(want), why)
		}
	}
	return ""
}

// abortedWhy says what sends packets to XDP_ABORTED: in the chain step a
// failed tail call, for UDP; otherwise an action of 0, or the hook's
// slot index taken for something else than the action.
func (c *checker) abortedWhy(what string) string {
	if c.ex.chain && strings.Contains(what, "UDP") {
		return fmt.Sprintf("the tail call failed, check the slot index and the map: xdp_discard must call bpf_tail_call(ctx, &%s, %d), the slot where up puts %s, and only a failed tail call returns XDP_ABORTED%s",
			chainMap, chainSlot, chainProg, c.ex.tail)
	}
	return "XDP_ABORTED is action 0: give xdpcap_exit the verdict itself, and if you tail-call the hook yourself, its slot index is the action (xdpcap's ABI): bpf_tail_call(ctx, &xdpcap_hook, action)" + c.ex.exit
}

// noHook says how a verdict reaches the hook.
func (c *checker) noHook(what string) string {
	s := "the program returned its verdict without xdpcap_exit, so no capture can see it: write `return xdpcap_exit(ctx, &xdpcap_hook, action);` instead of `return action;`"
	switch {
	case c.ex.chain && strings.Contains(what, "UDP"):
		return s + ", in xdp_udp too" + c.ex.dropExit
	case c.ex.tx && strings.Contains(what, "echo"):
		return s + "; XDP_TX too" + c.ex.txAction
	}
	return s + c.ex.exit
}

// judgeAlone judges the program with nothing capturing.
func (c *checker) judgeAlone() []labs.Result {
	a := c.alone
	m := a.m
	var r []labs.Result
	if c.ex.tx {
		r = append(r, c.judgeReplies()...)
	} else {
		r = append(r, grade.PingsAnswered("", m.pinged, c.pingHint()))
	}
	r = append(r,
		grade.DatagramsArrived("", m.passed, c.passHint(fmt.Sprintf("UDP datagrams to port %d", passPort), udpTo(passPort))),
		grade.DatagramsArrived("", m.swapped, c.swappedHint()),
		grade.TCPExchanged("", m.tcp, c.tcpHint()),
	)
	r = append(r, grade.FramesArrived("", a.swappedType, c.etherTypeHint()))
	name := fmt.Sprintf("none of the %d datagrams to port %d gets past the program while nothing captures", datagrams, dropPort)
	past := 0
	for _, f := range a.past {
		if udpTo(dropPort)(&f.Packet) {
			past++
		}
	}
	if m.dropFailure != nil {
		r = append(r, labs.Assert(name, false, "0 past", fmt.Sprintf("not sent: %v", m.dropFailure),
			fmt.Sprintf("sending to port %d failed, so the program never saw the datagrams: the lab's network is not as up left it: %s", dropPort, c.env.RebuildFix())))
	} else {
		r = append(r, labs.Assert(name, past == 0, "0 past", fmt.Sprintf("%d past", past), c.dropHint()))
	}
	return r
}

// pingHint says why the pings were not answered.
func (c *checker) pingHint() string {
	if h := c.went("echo requests", c.hookFate(echoes), capture.Pass, "the program must pass ICMP; only UDP to port 9 is dropped"+c.ex.rule); h != "" {
		return h
	}
	return "the program must pass ICMP: only UDP to port 9 is dropped" + c.ex.rule
}

// passHint says why traffic that must pass did not.
func (c *checker) passHint(what string, match func(*packet.Frame) bool) string {
	why := "only UDP to port 9 is dropped; everything else gets XDP_PASS" + c.ex.rule
	if h := c.went(what, c.hookFate(fixed(match)), capture.Pass, why); h != "" {
		return h
	}
	return why
}

// swappedHint: the datagrams to port 2304 are those a program that
// compares the port in host byte order drops.
func (c *checker) swappedHint() string {
	if c.swappedDropped() {
		return fmt.Sprintf("the datagrams to port %d (9 with its bytes swapped) were dropped: the program compares udp->dest, which is in network byte order, with 9 in host byte order; compare it with bpf_htons(9)%s", swappedPort, c.ex.rule)
	}
	return c.passHint(fmt.Sprintf("UDP datagrams to port %d", swappedPort), udpTo(swappedPort))
}

// swappedDropped reports whether the program dropped the datagrams to
// port 2304 (with or without a capture) but not those to port 7777: the
// mark of a port compared in the wrong byte order.
func (c *checker) swappedDropped() bool {
	if a := c.alone; a != nil && a.m.swapped.Failure == nil && a.m.swapped.Arrived == 0 && a.m.passed.Arrived == a.m.passed.Count {
		return true
	}
	f := c.hookFate(fixed(udpTo(swappedPort)))
	return f != nil && f[capture.Drop] > 0 && c.hookFate(fixed(udpTo(passPort)))[capture.Drop] == 0
}

// tcpHint: TCP to port 9 must pass, since the rule is UDP's.
func (c *checker) tcpHint() string {
	why := "the rule is UDP's: TCP to port 9 must pass; check ip->protocol == IPPROTO_UDP before reading the destination port (TCP's is at the same offset)" + c.ex.rule
	if h := c.went("TCP segments to port 9", c.hookFate(fixed(tcpTo(tcpPort))), capture.Pass, why); h != "" {
		return h
	}
	return why
}

// etherTypeDropped reports whether the program dropped the datagram in a
// frame of EtherType 0x0008: it took the frame for IPv4.
func (c *checker) etherTypeDropped() bool {
	if c.alone == nil {
		return false
	}
	w := c.alone.swappedType
	return w.Failure == nil && w.Count > 0 && w.Arrived == 0
}

// etherTypeHint: a frame that is not IPv4 must pass whatever it holds.
func (c *checker) etherTypeHint() string {
	return fmt.Sprintf("the program read an IPv4 header in a frame whose EtherType is %#04x, not IPv4's 0x0800, and dropped it: check eth->h_proto == bpf_htons(ETH_P_IP), in network byte order, before you read the IPv4 header (parse_ipv4 in xdplab/parse.h does)%s",
		swappedEtherType, c.ex.rule)
}

// dropHint says why datagrams to port 9 got past the program, or were not
// seen under XDPdrop.
func (c *checker) dropHint() string {
	fate := c.hookFate(fixed(udpTo(dropPort)))
	pastAlone := c.alone != nil && c.alone.m.dropFailure == nil && slices.ContainsFunc(c.alone.past, func(f witness.Frame) bool { return udpTo(dropPort)(&f.Packet) })
	switch {
	case pastAlone && fate != nil && fate[capture.Drop] > 0:
		return "while nothing captured they got past the program, yet a capture saw them under XDPdrop: with a capture program in the slot, xdpcap_exit's tail call never comes back and the capture program's verdict stands; " +
			"with the slot empty it returns the action, and the program must return that: write `return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);`, not `xdpcap_exit(...);` alone" + c.ex.dropExit
	case !pastAlone && fate != nil && fate[capture.Pass] > 0 && c.alone != nil:
		return "they are dropped while nothing captures, yet a capture saw them under XDPpass: the hook's slot index must be the verdict itself (xdpcap's ABI), so that the capture program in it returns the same verdict: bpf_tail_call(ctx, &xdpcap_hook, action)" + c.ex.exit
	case c.ex.chain && c.tailNotTaken():
		return fmt.Sprintf("UDP never reaches %s: with %s[%d] emptied it was still not XDP_ABORTED, so xdp_discard does not hand it over; call bpf_tail_call(ctx, &%s, %d)%s, and drop UDP to port 9 in %s%s",
			chainProg, chainMap, chainSlot, chainMap, chainSlot, c.ex.tail, chainProg, c.ex.rule)
	case c.swappedDropped():
		return fmt.Sprintf("the datagrams to port %d (9 with its bytes swapped) were dropped instead: compare udp->dest with bpf_htons(9), in network byte order%s", swappedPort, c.ex.rule)
	case pastAlone && c.etherTypeDropped():
		return fmt.Sprintf("they are not dropped, but the same datagram in a frame of EtherType %#04x was: the program compares eth->h_proto with ETH_P_IP in host byte order; compare it with bpf_htons(ETH_P_IP)%s", swappedEtherType, c.ex.rule)
	case pastAlone:
		return "they are not dropped: return XDP_DROP for UDP whose destination port, udp->dest, equals bpf_htons(9); the UDP header starts ip->ihl * 4 bytes after the IP header" + c.ex.rule
	}
	if h := c.went(fmt.Sprintf("UDP datagrams to port %d", dropPort), fate, capture.Drop,
		"return XDP_DROP for them: the destination port is udp->dest, in network byte order, so compare it with bpf_htons(9)"+c.ex.rule); h != "" {
		return h
	}
	return "drop UDP whose destination port, udp->dest, equals bpf_htons(9): the UDP header starts ip->ihl * 4 bytes after the IP header" + c.ex.rule
}

// judgeHooked judges what a capture at every hook slot saw.
func (c *checker) judgeHooked() []labs.Result {
	h := c.hooked
	got, m := h.got, h.m
	echoAction, echoName := capture.Pass, "the echo requests appear under XDPpass"
	if c.ex.tx {
		echoAction, echoName = capture.TX, "the echo requests appear under XDPtx, as their replies"
	}
	echoFate := got.fate(m.isEcho)
	echoWhy := "the program must pass ICMP; only UDP to port 9 is dropped" + c.ex.rule
	if c.ex.tx {
		echoWhy = "turn each echo request into its reply" + c.ex.rewrite + " and return XDP_TX" + c.ex.txAction
	}
	echoHint := c.went("echo requests", echoFate, echoAction, echoWhy)
	if echoHint == "" {
		echoHint = fmt.Sprintf("each echo request must show once under %s", echoAction.Interface())
	}
	r := []labs.Result{grade.ExactCount(echoName, pings, echoFate[echoAction], echoHint)}
	for _, p := range []struct {
		port, n int
	}{{passPort, datagrams}, {swappedPort, swapped}} {
		what := fmt.Sprintf("UDP datagrams to port %d", p.port)
		hint := c.passHint(what, udpTo(p.port))
		if p.port == swappedPort {
			hint = c.swappedHint()
		}
		r = append(r, grade.ExactCount(fmt.Sprintf("the %s appear under XDPpass", what), p.n, got.fate(udpTo(p.port))[capture.Pass], hint))
	}
	tcpFate := got.fate(tcpTo(tcpPort))
	elsewhere := total(tcpFate) - tcpFate[capture.Pass]
	r = append(r, labs.Assert(fmt.Sprintf("the TCP segments to port %d appear under XDPpass only", tcpPort),
		tcpFate[capture.Pass] > 0 && elsewhere == 0, "all under XDPpass", fateText(tcpFate), c.tcpHint()))

	drop := got.by(capture.Drop)
	to9 := count(drop, udpTo(dropPort))
	dropped := fmt.Sprintf("%d to port %d, %d other", to9, dropPort, len(drop)-to9)
	if m.dropFailure != nil {
		dropped += fmt.Sprintf(" (sending to port %d failed: %v)", dropPort, m.dropFailure)
	}
	dropHint := c.dropHint()
	if to9 == datagrams && len(drop) > to9 {
		dropHint = fmt.Sprintf("only UDP to port 9 is dropped; XDPdrop also holds %s", describe(drop, func(f *packet.Frame) bool { return !udpTo(dropPort)(f) }))
	}
	r = append(r,
		labs.Expect(fmt.Sprintf("XDPdrop holds the %d datagrams to port %d and nothing else", datagrams, dropPort),
			fmt.Sprintf("%d to port %d, 0 other", datagrams, dropPort), dropped, dropHint),
		grade.ExactCount(fmt.Sprintf("no datagram to port %d is passed", dropPort), 0, got.fate(udpTo(dropPort))[capture.Pass], c.dropHint()),
		c.otherActions(got, m),
		lossless("without a filter, every captured packet is delivered, none lost", got),
	)
	return r
}

// otherActions expects nothing under the actions the step never returns:
// XDPaborted and XDPredirect, and XDPtx but in the tx step, where it holds
// the echo replies only.
func (c *checker) otherActions(got captured, m mix) labs.Result {
	name := "nothing goes to XDPaborted, XDPtx or XDPredirect"
	if c.ex.tx {
		name = "nothing but the echo replies goes to XDPtx, and nothing to XDPaborted or XDPredirect"
	}
	var parts, hints []string
	ok := true
	for _, a := range []capture.Action{capture.Aborted, capture.TX, capture.Redirect} {
		frames := got.by(a)
		unexpected := func(f *packet.Frame) bool { return !(c.ex.tx && a == capture.TX && m.isEcho(f)) }
		n := count(frames, unexpected)
		label := a.Interface()
		if c.ex.tx && a == capture.TX {
			label += " besides the replies"
		}
		parts = append(parts, fmt.Sprintf("%s %d", label, n))
		if n == 0 {
			continue
		}
		ok = false
		what := describe(frames, unexpected)
		parts[len(parts)-1] += " (" + what + ")"
		switch a {
		case capture.Aborted:
			hints = append(hints, fmt.Sprintf("%s went to XDP_ABORTED: %s", what, c.abortedWhy(what)))
		case capture.TX:
			hints = append(hints, fmt.Sprintf("%s went to XDP_TX, which sends a packet back out of veth1: only %s", what,
				map[bool]string{true: "echo requests, turned into their replies, get XDP_TX" + c.ex.txAction, false: "XDP_DROP and XDP_PASS are this program's verdicts" + c.ex.exit}[c.ex.tx]))
		default:
			hints = append(hints, fmt.Sprintf("%s went to XDP_REDIRECT: this program redirects nothing; its verdicts are XDP_DROP and XDP_PASS%s", what, c.ex.exit))
		}
	}
	expected := "XDPaborted 0, XDPtx 0, XDPredirect 0"
	if c.ex.tx {
		expected = "XDPaborted 0, XDPtx besides the replies 0, XDPredirect 0"
	}
	return labs.Assert(name, ok, expected, strings.Join(parts, ", "), strings.Join(hints, "; "))
}

// describe says what the frames match picks are: "5 UDP to port 9" or
// "3 packets (192.168.0.3 > 192.168.0.2: ICMP echo request, ...)".
func describe(frames [][]byte, match func(*packet.Frame) bool) string {
	kinds := map[string]int{}
	var order []string
	for _, data := range frames {
		f := packet.Decode(data)
		if !match(&f) {
			continue
		}
		k := "packet"
		switch {
		case f.Has(packet.LayerUDP):
			k = fmt.Sprintf("UDP to port %d", f.UDP.DstPort)
		case f.Has(packet.LayerTCP):
			k = fmt.Sprintf("TCP to port %d", f.TCP.DstPort)
		case f.Has(packet.LayerICMPv4):
			k = "ICMP " + map[bool]string{true: "echo", false: "message"}[f.ICMPv4.Type == packet.ICMPv4EchoRequest || f.ICMPv4.Type == packet.ICMPv4EchoReply]
		case f.Has(packet.LayerARP):
			k = "ARP"
		}
		if kinds[k] == 0 {
			order = append(order, k)
		}
		kinds[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
	}
	return strings.Join(parts, ", ")
}

// judgeFiltered judges the captures before and after the program, with
// the filter.
func (c *checker) judgeFiltered() []labs.Result {
	f := c.filtered
	m := f.m
	var r []labs.Result
	if c.entry == nil {
		r = append(r,
			labs.Skip(entrySeesMix, entryExpected, entrySkipped),
			labs.Skip(entryRestored, "true", entrySkipped))
	} else {
		seen := f.atEntry
		r = append(r,
			labs.Expect(entrySeesMix, entryExpected,
				fmt.Sprintf("%d, %d, %d, %d", count(seen, m.isEcho), count(seen, udpTo(dropPort)), count(seen, udpTo(passPort)), count(seen, udpTo(swappedPort))),
				"the front program captures, then tail-calls the lab program through next_prog; every packet passes it whatever the lab program then decides"),
			labs.Assert(entryRestored, f.restored, "true", fmt.Sprint(f.restored),
				"the capture swaps its front program in through the pinned bpf_link and must swap the original back when it ends"))
	}
	// The hook sees a packet as the program left it: in the tx step the
	// echo requests as their replies.
	left := f.atEntry
	if c.ex.tx {
		left = nil
		for _, data := range f.atEntry {
			if reply, ok := replyTo(data); ok && count([][]byte{data}, m.isEcho) == 1 {
				data = reply
			}
			left = append(left, data)
		}
	}
	want, err := libpcapKeeps(checkFilter, left)
	if err != nil {
		// The filter compiled when the capture started; libpcap refusing
		// it now is not the program's doing.
		return append(r, labs.Assert("the filter's result can be compared", false, "compiled", err.Error(), "libpcap could not run the filter on the frames"))
	}
	r = append(r, c.sameBytes(fmt.Sprintf("filter %q keeps exactly what tcpdump keeps of %s", checkFilter, f.sentBy), want, f.filtered),
		c.balanced(f.filtered), lossless("with a filter, every kept packet is delivered, none lost", f.filtered))
	return r
}

// Names of the expectations about the entry capture, which a bare lab
// skips.
const (
	entrySeesMix  = "--entry sees the whole mix before the program ran (echo requests, UDP to ports 9, 7777 and 2304)"
	entryRestored = "the lab program is back on its link after --entry"
	entrySkipped  = "--entry swaps a front program into the lab's pinned bpf_link; in a bare lab your loader holds the attachment, and the check does not replace your program on it"
)

var entryExpected = fmt.Sprintf("%d, %d, %d, %d", pings, datagrams, datagrams, swapped)

// sameBytes compares two captures as multisets of frames: what libpcap
// keeps of what went into the program, as the program left it, and what
// the capture at the hook kept. The hint says what is missing or extra.
func (c *checker) sameBytes(name string, want [][]byte, got captured) labs.Result {
	diff := map[string]int{}
	for _, b := range want {
		diff[string(normal(b))]++
	}
	for _, p := range got.packets {
		diff[string(normal(p.Data))]--
	}
	var missing, extra [][]byte
	for b, d := range diff {
		for ; d > 0; d-- {
			missing = append(missing, []byte(b))
		}
		for ; d < 0; d++ {
			extra = append(extra, []byte(b))
		}
	}
	all := func(*packet.Frame) bool { return true }
	var hint string
	switch {
	case receivedNone(got):
		hint = "no hook slot received anything: " + c.noHook("packets")
	case c.ex.tx && len(extra) > 0:
		hint = "the hook sees each echo request as the program left it, which must be its reply: MACs and addresses swapped, type 0, the checksum updated" + c.ex.rewrite + ", sent with XDP_TX" + c.ex.txAction
	case len(extra) == 0:
		what := describe(missing, all)
		hint = fmt.Sprintf("no hook slot saw %s: %s", what, c.noHook(what))
	default:
		hint = fmt.Sprintf("the hook kept %s that the entry did not see as such (and missed %s): the filter runs on the packet as the program left it, so a program that changes a packet must leave it as the step says",
			describe(extra, all), orNone(describe(missing, all)))
	}
	return labs.Expect(name,
		fmt.Sprintf("%d packets, 0 missing, 0 extra", len(want)),
		fmt.Sprintf("%d packets, %d missing, %d extra", len(got.packets), len(missing), len(extra)), hint)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func receivedNone(c captured) bool {
	for _, s := range c.stats {
		if s.Received > 0 {
			return false
		}
	}
	return true
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
func (c *checker) balanced(got captured) labs.Result {
	ok := true
	var parts []string
	for _, a := range capture.XDPActions {
		s, present := got.stats[a]
		if !present || s.Received == 0 {
			continue
		}
		ok = ok && s.Received == s.Matched+s.Filtered
		parts = append(parts, fmt.Sprintf("%s %d = %d + %d", a.Interface(), s.Received, s.Matched, s.Filtered))
	}
	obs := strings.Join(parts, "; ")
	hint := "each capture program counts a packet once as received and once as either matched or filtered"
	if len(parts) == 0 {
		ok, obs, hint = false, "no packet received", "no hook slot received anything: "+c.noHook("packets")
	}
	return labs.Assert("with a filter, received = matched + filtered for every action", ok, "equal", obs, hint)
}
