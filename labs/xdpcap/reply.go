package xdpcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// The tx step answers pings from XDP. What it must send back is known
// exactly: the request turned around in place.

// replyTo is the echo reply the tx step's program makes of an echo request
// frame: MACs swapped, addresses swapped, type 0, the ICMP checksum made
// right for the new type, and nothing else changed; false for a frame that
// is not a whole untagged IPv4 echo request.
func replyTo(req []byte) ([]byte, bool) {
	f := packet.Decode(req)
	if f.Err != nil || f.VLANTags > 0 || !f.Has(packet.LayerIPv4|packet.LayerICMPv4) || f.ICMPv4.Type != packet.ICMPv4EchoRequest {
		return nil, false
	}
	out := slices.Clone(req)
	var mac [6]byte
	copy(mac[:], out[0:6])
	copy(out[0:6], out[6:12])
	copy(out[6:12], mac[:])
	ip := out[14:]
	var addr [4]byte
	copy(addr[:], ip[12:16])
	copy(ip[12:16], ip[16:20])
	copy(ip[16:20], addr[:])
	hlen := int(f.IPv4.IHL) * 4
	msg := ip[hlen : hlen+len(f.IPv4.Payload)]
	msg[0] = packet.ICMPv4EchoReply
	binary.BigEndian.PutUint16(msg[2:], 0)
	binary.BigEndian.PutUint16(msg[2:], packet.Checksum(msg))
	return out, true
}

// normal is a frame as the check compares it with another: the checksum
// of an ICMP message is zeroed when it is right, since 0x0000 and 0xffff
// are the same checksum and an update in place may write either.
func normal(b []byte) []byte {
	f := packet.Decode(b)
	if f.VLANTags > 0 || !f.Has(packet.LayerIPv4|packet.LayerICMPv4) || packet.Checksum(f.IPv4.Payload) != 0 {
		return b
	}
	out := slices.Clone(b)
	at := 14 + int(f.IPv4.IHL)*4 + 2
	out[at], out[at+1] = 0, 0
	return out
}

// replyProblem says how a reply that came back differs from want, the
// reply the program should have made of req, or "" when it does not.
func replyProblem(req, got, want []byte) string {
	g, w := packet.Decode(got), packet.Decode(want)
	switch {
	case !g.Has(packet.LayerIPv4 | packet.LayerICMPv4):
		return fmt.Sprintf("what came back is no ICMP message (%s)", g.Summary())
	case !bytes.Equal(g.Ethernet.Dst, w.Ethernet.Dst) || !bytes.Equal(g.Ethernet.Src, w.Ethernet.Src):
		return fmt.Sprintf("it goes from MAC %s to %s, want %s to %s: swap eth->h_source and eth->h_dest",
			g.Ethernet.Src, g.Ethernet.Dst, w.Ethernet.Src, w.Ethernet.Dst)
	case g.IPv4.Src != w.IPv4.Src || g.IPv4.Dst != w.IPv4.Dst:
		return fmt.Sprintf("it goes from %s to %s, want %s to %s: swap ip->saddr and ip->daddr", g.IPv4.Src, g.IPv4.Dst, w.IPv4.Src, w.IPv4.Dst)
	case g.ICMPv4.Type != packet.ICMPv4EchoReply:
		return fmt.Sprintf("its ICMP type is %d, want 0: set icmp->type to ICMP_ECHOREPLY", g.ICMPv4.Type)
	case g.IPv4.TTL != w.IPv4.TTL:
		return fmt.Sprintf("its TTL is %d, want %d as the request had it: a reply made in place keeps the request's TTL (and a changed IP header needs its checksum updated too)", g.IPv4.TTL, w.IPv4.TTL)
	case packet.Checksum(got[14:14+int(g.IPv4.IHL)*4]) != 0:
		return fmt.Sprintf("its IP header checksum %#04x is wrong: swapping the addresses leaves it right, so leave it alone", g.IPv4.Checksum)
	case packet.Checksum(g.IPv4.Payload) != 0:
		have, right := g.ICMPv4.Checksum, w.ICMPv4.Checksum
		switch r := packet.Decode(req); {
		case have == r.ICMPv4.Checksum:
			return fmt.Sprintf("its ICMP checksum is still the request's, %#04x, want %#04x: update it for the type's change (RFC 1624)", have, right)
		case bits.ReverseBytes16(have) == right:
			return fmt.Sprintf("its ICMP checksum %#04x is the right one, %#04x, with its bytes swapped: icmp->checksum is in network byte order (bpf_ntohs before the sum, bpf_htons after)", have, right)
		}
		return fmt.Sprintf("its ICMP checksum is %#04x, want %#04x: the checksum is wrong for the new type; update it as RFC 1624 says, in network byte order", have, right)
	}
	ng, nw := normal(got), normal(want)
	if bytes.Equal(ng, nw) {
		return ""
	}
	for i := range min(len(ng), len(nw)) {
		if ng[i] != nw[i] {
			return fmt.Sprintf("byte %d of the frame is %#02x, want %#02x as the request had it: change only the MACs, the addresses, the type and the checksum", i, ng[i], nw[i])
		}
	}
	return fmt.Sprintf("it is %d bytes long, want %d: change only the MACs, the addresses, the type and the checksum", len(got), len(want))
}

// judgeReplies judges the pings of the tx step, with nothing capturing:
// answered, each by its request turned around, and none seen by node1's
// kernel; and ICMP that is not an echo request passes.
func (c *checker) judgeReplies() []labs.Result {
	a := c.alone
	m := a.m
	requests := map[int][]byte{}
	replies := map[int][][]byte{}
	for _, f := range a.back {
		p := &f.Packet
		if !p.Has(packet.LayerIPv4|packet.LayerICMPv4) || int(p.ICMPv4.ID) != m.pinged.ID {
			continue
		}
		seq := int(p.ICMPv4.Seq)
		switch {
		case f.Out && p.ICMPv4.Type == packet.ICMPv4EchoRequest:
			requests[seq] = f.Data
		case !f.Out:
			replies[seq] = append(replies[seq], f.Data)
		}
	}
	good := 0
	// problems say what went wrong, seq by seq; wrong is the first reply
	// that came back different from what it should be.
	var problems []string
	wrong := ""
	for seq := 1; seq <= pings; seq++ {
		req, ok := requests[seq]
		if !ok {
			problems = append(problems, fmt.Sprintf("seq %d: its request was not seen leaving %s/%s", seq, c.sender.Node, c.sender.Iface))
			continue
		}
		want, _ := replyTo(req)
		back := replies[seq]
		if len(back) == 0 {
			problems = append(problems, fmt.Sprintf("seq %d: nothing came back to %s/%s", seq, c.sender.Node, c.sender.Iface))
			continue
		}
		if slices.ContainsFunc(back, func(got []byte) bool { return replyProblem(req, got, want) == "" }) {
			good++
			continue
		}
		p := replyProblem(req, back[0], want)
		if wrong == "" {
			wrong = p
		}
		problems = append(problems, fmt.Sprintf("seq %d: %s", seq, p))
	}
	kernel := 0
	for _, f := range a.past {
		if f.Packet.Has(packet.LayerICMPv4) && f.Packet.ICMPv4.Type == packet.ICMPv4EchoRequest && int(f.Packet.ICMPv4.ID) == m.pinged.ID {
			kernel++
		}
	}
	passed := fmt.Sprintf("node1's kernel received the echo requests and answered them itself: the program passed them; turn each into its reply%s and return XDP_TX%s", c.ex.rewrite, c.ex.txAction)
	replyHint := passed
	if kernel == 0 {
		replyHint = c.replyHint(wrong)
	}
	observed := fmt.Sprintf("%d of %d", good, pings)
	if len(problems) > 0 {
		observed += "; " + problems[0]
	}
	pingHint := replyHint
	if m.pinged.Received == pings && kernel == 0 {
		pingHint = "" // the replies arrived; the raw socket does not check them
	}
	return []labs.Result{
		grade.PingsAnswered("", m.pinged, pingHint),
		labs.Assert(fmt.Sprintf("the %d echo replies are their requests turned around (MACs and addresses swapped, type 0, checksums right, nothing else changed)", pings),
			good == pings, fmt.Sprintf("%d of %d", pings, pings), observed, replyHint),
		grade.ExactCount("node1's kernel receives none of the echo requests: the program answers them itself", 0, kernel, passed),
		grade.FramesArrived("", a.stamp, "answer only echo requests (type 8, code 0): other ICMP, such as this timestamp request (type 13), gets XDP_PASS"),
	}
}

// replyHint says what is wrong with the first reply that came back wrong,
// or, when none came back, where the requests went instead.
func (c *checker) replyHint(wrong string) string {
	if wrong != "" {
		return "the reply came back, but " + wrong + c.ex.rewrite
	}
	if fate := c.hookFate(echoes); fate != nil && fate[capture.TX] == pings {
		return fmt.Sprintf("the program sent the replies with XDP_TX (a capture saw them under XDPtx), yet none reached %s/%s: in native mode a veth hands an XDP_TX frame to its peer only while the peer runs an XDP program, which up attaches to %s/%s; %s",
			c.sender.Node, c.sender.Iface, c.sender.Node, c.sender.Iface, c.env.RebuildFix())
	}
	if h := c.went("echo requests", c.hookFate(echoes), capture.TX, "turn each echo request into its reply and return XDP_TX"+c.ex.txAction); h != "" {
		return h
	}
	return "turn each echo request into its reply" + c.ex.rewrite + " and return XDP_TX" + c.ex.txAction
}
