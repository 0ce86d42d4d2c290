package packetcounter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Hints are drawn from evidence: what each traffic step and probe made
// the map count, the packets as they met the program, and what the program
// returns when run on them again (BPF_PROG_TEST_RUN). A generic hint is
// the fallback when nothing points anywhere.

// countHint says what the counters show when a phase's packets were not
// counted once each under their protocol: counted several times, counted
// under another key (and which field of the packets holds that key),
// counted in part, or not counted at all; without such evidence, how to
// count them.
func (c *checker) countHint(p phase) string {
	e := c.ex
	key, where, increment := "ip->protocol, the byte at offset 9 of the IPv4 header", e.key, e.increment
	if p.ipv6 {
		key, where, increment = "ip6->nexthdr, the byte at offset 6 of the IPv6 header", e.key6, e.key6
	}
	got, sent := p.delta[p.proto], p.want
	switch {
	case sent > 0 && got > sent && got%sent == 0:
		return fmt.Sprintf("each packet was counted %d times: add 1 once per packet, in one place%s", got/sent, increment)
	case got == 0 && p.delta.Total() == 0:
		return c.uncountedHint(p)
	case got == 0:
		if k, ok := p.delta.Elsewhere(p.proto, sent); ok {
			return c.elsewhereHint(p, k, key) + where
		}
	case got < sent && p.delta.Total() == got:
		return fmt.Sprintf("only %d of the %d %s moved the counter: a counter set to 1 (*count = 1, or bpf_map_update_elem with a value of 1) "+
			"stays at 1 however many packets come; add 1 to what the lookup returned%s", got, sent, p.what, increment)
	}
	return fmt.Sprintf("count each of the %d %s exactly once under %s%s (a lookup in a PERCPU_ARRAY returns this CPU's slot: add 1 to it)", sent, p.what, key, where)
}

// uncountedHint explains a phase that counted nothing at all: its packets
// never left the sender, the EtherType is compared in the wrong byte order,
// the ICMP drop comes before the count, only some protocols are counted,
// or nothing is.
func (c *checker) uncountedHint(p phase) string {
	e := c.ex
	if !p.ipv6 && len(p.frames) == 0 {
		return c.unsentHint(strings.TrimSuffix(p.what, "s"), e.nothing)
	}
	if r, ok := c.swappedOnly(p.ipv6); ok {
		return c.byteOrderHint(r, false)
	}
	if e.dropICMP && p.proto == protoICMP {
		return e.nothing
	}
	var counted []string
	var protos []string
	for _, o := range c.phases() {
		if o.ipv6 == p.ipv6 && o.proto != p.proto && o.delta[o.proto] > 0 {
			counted = append(counted, o.what)
			protos = append(protos, labs.IPProtoName(o.proto))
		}
	}
	if len(counted) > 0 {
		family, key, where := "IPv4", "ip->protocol", e.key
		if p.ipv6 {
			family, key, where = "IPv6", "ip6->nexthdr", e.key6
		}
		return fmt.Sprintf("the %d %s %s not counted, while the %s were: count every %s packet under %s, not only %s%s",
			p.want, p.what, were(p.want), strings.Join(counted, " and "), family, key, strings.Join(protos, " and "), where)
	}
	if p.ipv6 {
		return "the IPv6 packets were not counted: recognise EtherType ETH_P_IPV6 and check a whole struct ipv6hdr fits" +
			e.header6 + ", then count under ip6->nexthdr" + e.key6
	}
	return e.nothing
}

// elsewhereHint says under which key the packets of a phase were counted,
// and what that key is.
func (c *checker) elsewhereHint(p phase, k uint32, key string) string {
	s := fmt.Sprintf("the %d %s %s counted under key %d (%s), not %d (%s)", p.want, p.what, were(p.want), k, labs.IPProtoName(k), p.proto, labs.IPProtoName(p.proto))
	switch {
	case p.ipv6 && k == 41:
		return s + ": 41 is the protocol number of an IPv6 packet carried inside IPv4, not of an IPv6 packet itself; count it under its next header, ip6->nexthdr"
	case p.ipv6 && p.proto == protoICMPv6 && k == protoICMP:
		return s + ": ICMPv6 has a protocol number of its own, 58; count under ip6->nexthdr as it is"
	case k == 0:
		s += ": a key that is never set from the packet stays 0, and every packet lands at index 0"
		if o := keyOrigin(k, p.frames, p.ipv6); o != "" {
			s += "; or it is read from " + o + ", which is 0 in these packets"
		}
	default:
		if o := keyOrigin(k, p.frames, p.ipv6); o != "" {
			s += fmt.Sprintf(": in these packets %d is %s", k, o)
		}
	}
	return s + "; the key must be " + key
}

// were is the verb for n packets: "1 SYN was", "3 echo requests were".
func were(n uint64) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// field is a place in a frame a mistaken key may come from.
type field struct {
	off         int   // byte offset in the frame
	shift, mask uint8 // a bit field of that byte (mask 0: the whole byte)
	name        string
}

// The fields a learner reads instead of the protocol: nearby header
// fields, the version nibble of the bit fields, and the offset counted
// from the frame's start instead of the IP header's.
var (
	fromFrameStart = field{off: 9, name: "byte 9 of the frame, inside the source MAC address: offsets inside the IP header count from its start, " +
		"after the 14-byte Ethernet header (ip = (void *)(eth + 1))"}
	fields4 = []field{
		{off: 14 + 8, name: "ip->ttl, offset 8 of the IPv4 header"},
		{off: 14, shift: 4, mask: 0xf, name: "ip->version"},
		{off: 14, mask: 0xf, name: "ip->ihl, the header length in 32-bit words"},
		{off: 14, name: "the version and header-length byte, offset 0 of the IPv4 header"},
		fromFrameStart,
	}
	fields6 = []field{
		{off: 14 + 7, name: "ip6->hop_limit, offset 7 of the IPv6 header"},
		{off: 14 + 9, name: "byte 9 of the IPv6 header, inside the source address, where an IPv4 header has its protocol: the IPv6 header was read as a struct iphdr"},
		{off: 14, shift: 4, mask: 0xf, name: "ip6->version"},
		fromFrameStart,
	}
)

// keyOrigin names every field that holds k in each of frames, "" when
// none does (or there are no frames).
func keyOrigin(k uint32, frames [][]byte, ipv6 bool) string {
	if len(frames) == 0 || k > 0xff {
		return ""
	}
	fields := fields4
	if ipv6 {
		fields = fields6
	}
	var names []string
	for _, f := range fields {
		if !slices.ContainsFunc(frames, func(b []byte) bool { return len(b) <= f.off || f.value(b[f.off]) != uint8(k) }) {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", and ")
}

func (f field) value(b byte) uint8 {
	if f.mask == 0 {
		return b
	}
	return b >> f.shift & f.mask
}

// swappedOnly finds the byte-swapped EtherType probe of a family counted
// while no frame of another EtherType was: the program compares h_proto
// with the constant in host byte order.
func (c *checker) swappedOnly(ipv6 bool) (probed, bool) {
	var found probed
	ok := false
	for _, r := range c.probed {
		switch {
		case r.allowed():
		case r.kind == probeOther:
			return probed{}, false
		case r.kind == probeSwapped && r.ipv6 == ipv6:
			found, ok = r, true
		}
	}
	return found, ok
}

// byteOrderHint says the EtherType is compared in the wrong byte order;
// probe says whether the hint is for the probe's own expectation.
func (c *checker) byteOrderHint(r probed, probe bool) string {
	constant, family, where := "ETH_P_IP", "IPv4", c.ex.header
	if r.ipv6 {
		constant, family, where = "ETH_P_IPV6", "IPv6", c.ex.header6
	}
	s := fmt.Sprintf("no %s packet was counted, but %s was", family, r.what)
	if probe {
		s = fmt.Sprintf("the program counts %s", r.what)
	}
	return fmt.Sprintf("%s: the EtherType is compared in the wrong byte order; eth->h_proto holds it big-endian, as on the wire, so compare it with bpf_htons(%s), not %s%s",
		s, constant, constant, where)
}

// passHint is the hint when packets of a phase that the program must pass
// did not arrive: what the program returns for the very packets sent, or
// why none was sent; fallback when the program passes them.
func (c *checker) passHint(p phase, fallback string) string {
	if len(p.frames) == 0 {
		return c.unsentHint(strings.TrimSuffix(p.what, "s"), fallback)
	}
	v := c.verdicts(p.frames)
	a, ok := v.Not(grade.XDPPass)
	if !ok {
		return fallback
	}
	s := fmt.Sprintf("the program returns %s for the %s %s sent (BPF_PROG_TEST_RUN on them): %s", v, p.what, c.sender.Node, meaning(a))
	if c.ex.dropICMP {
		s += "; drop ICMP only"
	}
	return s + "; return XDP_PASS for them" + c.ex.pass
}

// meaning says what an action does to a frame.
func meaning(a grade.XDPAction) string {
	switch a {
	case grade.XDPDrop:
		return "XDP_DROP discards them before node1's stack sees them"
	case grade.XDPAborted:
		return "XDP_ABORTED, the action for a program error (0, what `return 0` returns), discards them and fires the xdp:xdp_exception tracepoint"
	case grade.XDPTx:
		return "XDP_TX sends each back out of veth1, to the host, instead of up node1's stack"
	case grade.XDPRedirect:
		return "XDP_REDIRECT sends them to another interface instead of up node1's stack"
	}
	return a.String() + " is no action the kernel knows: it discards them as XDP_ABORTED does"
}

// unsentHint is the hint when the sender sent none of a step's packets:
// it never learnt node1's MAC address when the program drops ARP.
func (c *checker) unsentHint(what, fallback string) string {
	v := c.verdicts([][]byte{c.probes[0].frame}) // the ARP request
	if a, ok := v.Not(grade.XDPPass); ok {
		return fmt.Sprintf("%s sent no %s: it never learnt node1's MAC address, because the program returns %s for ARP requests (BPF_PROG_TEST_RUN on one); "+
			"a frame that is not IPv4 is not the program's to count, but it must get XDP_PASS%s", c.sender.Node, what, a, c.ex.header)
	}
	return fmt.Sprintf("%s sent no %s to node1; %s", c.sender.Node, what, fallback)
}

// answeredHint is the drop_icmp step's hint when node1 answered the pings:
// what the program returns for the echo requests, and what it dropped
// instead.
func (c *checker) answeredHint() string {
	h := "node1 answered: return XDP_DROP when ip->protocol is IPPROTO_ICMP (1)"
	if c.verdicts(c.icmp.frames).All(grade.XDPPass) {
		h = fmt.Sprintf("node1 answered: the program returns XDP_PASS for the echo requests %s sent (BPF_PROG_TEST_RUN on them); "+
			"return XDP_DROP when ip->protocol is IPPROTO_ICMP (1)", c.sender.Node)
	}
	var instead []string
	for _, s := range []struct {
		p         phase
		delivered bool
		what      string
	}{{c.udp4, c.udp.Arrived == c.udp.Count, "UDP datagrams"}, {c.tcp4, c.tcp.OK(), "TCP segments"}} {
		if !s.p.ran || s.delivered {
			continue
		}
		if a, ok := c.verdicts(s.p.frames).Not(grade.XDPPass); ok {
			instead = append(instead, fmt.Sprintf("the %s (%s)", s.what, a))
		}
	}
	if len(instead) > 0 {
		h += "; it drops " + strings.Join(instead, " and ") + " instead"
	}
	return h + c.ex.drop
}

// probePassHint says what the program returns for the probes that did not
// arrive.
func (c *checker) probePassHint(missing []probed) string {
	var got []string
	// The IPv6 probes test the ipv6 step's TODO; the others the part of
	// the program that passes what is not IP.
	where := c.ex.header6
	for _, r := range missing {
		if !r.ipv6 {
			where = c.ex.header
		}
		if a, ok := c.verdicts([][]byte{r.frame}).Not(grade.XDPPass); ok {
			got = append(got, fmt.Sprintf("%s for %s", a, r.what))
		}
	}
	if len(got) == 0 {
		return "every frame must get XDP_PASS, counted or not" + where
	}
	return "the program returns " + strings.Join(got, ", ") + " (BPF_PROG_TEST_RUN): a frame that is not the program's to count " +
		"must still get XDP_PASS, or node1 loses it (an ARP request dropped leaves the host unable to reach node1)" + where
}

// probeCountHint says why probes were counted, from which ones were: every
// frame of another EtherType (no EtherType test), only the byte-swapped
// one (byte order), the cut header (bounds), the tagged one (VLAN).
func (c *checker) probeCountHint() string {
	byKind := map[probeKind][]probed{}
	for _, r := range c.probed {
		if !r.allowed() {
			byKind[r.kind] = append(byKind[r.kind], r)
		}
	}
	var hs []string
	if other := byKind[probeOther]; len(other) > 0 {
		var what []string
		for _, r := range other {
			what = append(what, r.what)
		}
		test := "eth->h_proto is bpf_htons(ETH_P_IP)"
		if c.ex.ipv6 {
			test = "eth->h_proto is bpf_htons(ETH_P_IP) or bpf_htons(ETH_P_IPV6)"
		}
		hs = append(hs, fmt.Sprintf("the program counts frames whose EtherType is not IPv4 (%s): their bytes are not an IPv4 header; "+
			"return XDP_PASS, uncounted, unless %s%s", strings.Join(what, ", "), test, c.ex.header))
	} else {
		for _, r := range byKind[probeSwapped] {
			hs = append(hs, c.byteOrderHint(r, true))
		}
		for _, r := range byKind[probeVLAN] {
			hs = append(hs, fmt.Sprintf("the program counts %s under %s: a tagged frame's EtherType is 0x8100 (ETH_P_8021Q) and its IPv4 header "+
				"starts 4 bytes later than an untagged one's; pass it uncounted, or skip the VLAN tag and count the inner packet's protocol%s",
				r.what, r.delta.Format(labs.IPProtoName), c.ex.header))
		}
	}
	for _, r := range byKind[probeCut] {
		header, where := "struct iphdr fits before data_end: if ((void *)(ip + 1) > data_end) return XDP_PASS;", c.ex.header
		if r.ipv6 {
			header, where = "struct ipv6hdr fits before data_end: if ((void *)(ip6 + 1) > data_end) return XDP_PASS;", c.ex.header6
		}
		hs = append(hs, fmt.Sprintf("the program counts %s: count a packet only when its whole %s%s", r.what, header, where))
	}
	return strings.Join(hs, "; ")
}
