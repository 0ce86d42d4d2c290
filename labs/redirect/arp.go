package redirect

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// arpExchange writes one ARP frame from a node into node1 (through via)
// and records what comes back to the node and what node1's kernel gets:
// a witness on node1's side sees a frame only once XDP passed it.
func (c *checker) arpExchange(from, via topology.Place, frame packet.ARPFrame, awaitReply bool) (back, passed []witness.Frame, d grade.Counters[uint32], err error) {
	b, err := frame.Bytes()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("build arp frame: %w", err)
	}
	atFrom, atNode1 := &watchpoint{at: from}, &watchpoint{at: via}
	if awaitReply {
		atFrom.expect = []func(witness.Frame) bool{func(f witness.Frame) bool { return f.Packet.Has(packet.LayerARP) }}
	}
	d, err = c.measure(func() error { return c.probe(from, packet.EtherTypeARP, [][]byte{b}, atFrom, atNode1) })
	return atFrom.frames, atNode1.frames, d, err
}

// arpText describes an ARP frame field by field, as the check compares
// them.
func arpText(f witness.Frame) string {
	a, eth := &f.Packet.ARP, &f.Packet.Ethernet
	return fmt.Sprintf("Ethernet %s > %s, op %d, sender %s %s, target %s %s",
		eth.Src, eth.Dst, a.Operation, net.HardwareAddr(a.SenderHW), ipText(a.SenderProto), net.HardwareAddr(a.TargetHW), ipText(a.TargetProto))
}

func ipText(b []byte) string {
	if a, ok := netip.AddrFromSlice(b); ok {
		return a.String()
	}
	return fmt.Sprintf("%x", b)
}

// arpAnswered asks node1, from asker's link, who has node1's address
// there: the program must answer from XDP (node1's kernel never sees the
// request), with a reply whose every field is right.
func (c *checker) arpAnswered(asker, via topology.Place) error {
	target := via.Addr.Addr()
	back, passed, d, err := c.arpExchange(asker, via, packet.ARPFrame{SrcMAC: asker.MAC, DstMAC: packet.Broadcast,
		Operation: packet.ARPRequest, SenderHW: asker.MAC, SenderIP: asker.Addr.Addr(), TargetIP: target}, true)
	if err != nil {
		return err
	}
	replies := filter(back, func(f witness.Frame) bool { return f.Packet.Has(packet.LayerARP) })

	observed := fmt.Sprintf("the request reached %s's kernel", via.Node)
	if len(passed) == 0 {
		observed = fmt.Sprintf("the request never reached %s's kernel", via.Node)
	}
	observed += "; " + plural(len(replies), "reply", "replies")
	hint, err := c.arpUnansweredHint(via, target, len(passed) > 0, len(replies) > 0, d)
	if err != nil {
		return err
	}
	c.add(labs.Assert(
		fmt.Sprintf("ARP request %s -> who-has %s is answered by %s, not by %s's kernel", asker.Node, target, progName, via.Node),
		len(passed) == 0 && len(replies) > 0,
		fmt.Sprintf("the request never reached %s's kernel; 1 reply", via.Node), observed, hint))

	wantText := fmt.Sprintf("Ethernet %s > %s, op %d, sender %s %s, target %s %s",
		via.MAC, asker.MAC, packet.ARPReply, via.MAC, target, asker.MAC, asker.Addr.Addr())
	got := "no reply"
	if len(replies) > 0 {
		got = arpText(replies[0])
		if len(replies) > 1 {
			got = fmt.Sprintf("%d replies, the first: %s", len(replies), got)
		}
	}
	fieldHint := hint
	if len(replies) > 0 {
		fieldHint = arpFieldHint(replies[0], asker, via, c.ex)
	}
	c.add(labs.Assert(fmt.Sprintf("the ARP reply to %s says %s is-at %s, from %s to %s", asker.Node, target, via.MAC, via.Node, asker.Node),
		len(replies) == 1 && got == wantText, wantText, got, fieldHint))
	return nil
}

// arpUnansweredHint says why a request for node1's address was not
// answered from XDP: what node1's kernel got, what came back, what the
// program counted and what arp_table holds.
func (c *checker) arpUnansweredHint(via topology.Place, target netip.Addr, passed, replied bool, d grade.Counters[uint32]) (string, error) {
	ex := c.ex
	switch {
	case !passed && !replied:
		if d != nil && d[arpAnswered] > 0 {
			return "the program wrote the reply but it never came back: send it out of the interface the request came in on, return XDP_TX" + ex.arpSend, nil
		}
		return "the request came out nowhere, neither to node1's kernel nor back: the program dropped it; answer it, or pass it (XDP_PASS) when it is not for one of node1's addresses" + ex.arpSend, nil
	case !passed:
		return "", nil
	case d != nil && d[arpAnswered] > 0:
		return "the program wrote the reply but returned XDP_PASS, so node1's kernel got it instead of the asker: return XDP_TX to send it back out of the interface the request came in on" + ex.arpSend, nil
	case d != nil && d[arpNotOurs] > 0:
		has, err := arpTableHas(c.env, target)
		if err != nil {
			return "", err
		}
		if has {
			return fmt.Sprintf("the program looked %s up in %s and did not find it, though %s holds it: the key is the 4 bytes of arp->ar_tip as they are, in network byte order (no bpf_ntohl)%s",
				target, mapARP, mapARP, ex.arpLookup), nil
		}
		return fmt.Sprintf("%s has no entry for %s, node1's address on %s: up fills it; %s", mapARP, target, via.Iface, c.sit.rebuild), nil
	case d != nil:
		return fmt.Sprintf("node1's kernel answered, not the program, which left the ARP request alone: %s", ex.arpNothing), nil
	}
	return "node1's kernel answered, not the program, which passed the request: recognise ARP requests (eth->h_proto == bpf_htons(ETH_P_ARP), ar_op == bpf_htons(ARPOP_REQUEST)), find the address in arp_table and return XDP_TX with the reply", nil
}

// arpTableHas reports whether arp_table holds ip, keyed in network byte
// order.
func arpTableHas(env *labs.Env, ip netip.Addr) (bool, error) {
	m, err := grade.OpenMap(env, mapARP, true)
	if err != nil {
		return false, err
	}
	defer m.Close()
	val := make([]byte, m.ValueSize())
	key := ip.As4()
	err = m.Lookup(key[:], &val)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return false, nil
	}
	return err == nil, err
}

// arpFieldHint names every field of a reply that is not what it should be,
// with how to write it.
func arpFieldHint(f witness.Frame, asker, via topology.Place, ex exercise) string {
	a, eth := &f.Packet.ARP, &f.Packet.Ethernet
	var wrong []string
	if !bytes.Equal(eth.Dst, asker.MAC) {
		wrong = append(wrong, fmt.Sprintf("the Ethernet h_dest is %s: make it the asker's MAC, the request's h_source", eth.Dst))
	}
	if !bytes.Equal(eth.Src, via.MAC) {
		wrong = append(wrong, fmt.Sprintf("the Ethernet h_source is %s: make it node1's MAC from arp_table (mac->addr)", eth.Src))
	}
	switch a.Operation {
	case packet.ARPReply:
	case packet.ARPReply << 8:
		wrong = append(wrong, fmt.Sprintf("ar_op is %d, ARPOP_REPLY byte-swapped: write bpf_htons(ARPOP_REPLY)", a.Operation))
	default:
		wrong = append(wrong, fmt.Sprintf("ar_op is %d: write bpf_htons(ARPOP_REPLY)", a.Operation))
	}
	if !bytes.Equal(a.SenderHW, via.MAC) {
		wrong = append(wrong, fmt.Sprintf("ar_sha is %s: make it node1's MAC (mac->addr)", net.HardwareAddr(a.SenderHW)))
	}
	if ipText(a.SenderProto) != via.Addr.Addr().String() {
		wrong = append(wrong, fmt.Sprintf("ar_sip is %s: make it the address asked for, %s", ipText(a.SenderProto), via.Addr.Addr()))
	}
	if !bytes.Equal(a.TargetHW, asker.MAC) {
		wrong = append(wrong, fmt.Sprintf("ar_tha is %s: make it the asker's MAC, the request's ar_sha", net.HardwareAddr(a.TargetHW)))
	}
	if ipText(a.TargetProto) != asker.Addr.Addr().String() {
		wrong = append(wrong, fmt.Sprintf("ar_tip is %s: make it the asker's address, the request's ar_sip (%s)", ipText(a.TargetProto), asker.Addr.Addr()))
	}
	if len(wrong) == 0 {
		return "answer each request once"
	}
	return "the reply is not right: " + strings.Join(wrong, "; ") + ex.arpReply
}

// freeAddress is an address of p's subnet that no interface of the lab
// has: nobody may answer an ARP request for it.
func freeAddress(topo *topology.Deployed, p topology.Place) netip.Addr {
	taken := map[netip.Addr]bool{}
	for _, l := range topo.Links {
		taken[l.A.Addr.Addr()], taken[l.B.Addr.Addr()] = true, true
	}
	pfx := p.Addr.Masked()
	a := pfx.Addr()
	for b := a.Next(); pfx.Contains(b); b = b.Next() {
		if !taken[b] && pfx.Contains(b.Next()) { // not the broadcast address
			a = b
		}
	}
	return a
}

// arpForeign asks, from the sender's link, for an address no node has:
// the program must pass the request to node1's kernel, and nobody answers.
func (c *checker) arpForeign() error {
	from, via := c.sender, c.dut
	target := freeAddress(c.env.Topo, from)
	back, passed, _, err := c.arpExchange(from, via, packet.ARPFrame{SrcMAC: from.MAC, DstMAC: packet.Broadcast,
		Operation: packet.ARPRequest, SenderHW: from.MAC, SenderIP: from.Addr.Addr(), TargetIP: target}, false)
	if err != nil {
		return err
	}
	hint := fmt.Sprintf("an ARP request for an address that is not in %s is not ours to answer: return XDP_PASS, and node1's kernel decides%s", mapARP, c.ex.arpLookup)
	if len(back) > 0 {
		hint = fmt.Sprintf("the program answered for %s, which is not in %s: answer only when the lookup finds the address asked for%s", target, mapARP, c.ex.arpLookup)
	}
	c.add(labs.Assert(fmt.Sprintf("ARP request %s -> who-has %s (no node's address) reaches %s's kernel, unanswered", from.Node, target, via.Node),
		len(passed) == 1 && len(back) == 0, "1 request at node1's kernel; no reply",
		fmt.Sprintf("%d at node1's kernel; %s", len(passed), plural(len(back), "reply", "replies")), hint))
	return nil
}

// arpReplyPasses sends an ARP reply to node1, as a neighbour announcing
// itself would: only requests are answered, a reply goes to the kernel.
func (c *checker) arpReplyPasses() error {
	from, via := c.sender, c.dut
	back, passed, _, err := c.arpExchange(from, via, packet.ARPFrame{SrcMAC: from.MAC, DstMAC: via.MAC,
		Operation: packet.ARPReply, SenderHW: from.MAC, SenderIP: from.Addr.Addr(), TargetHW: via.MAC, TargetIP: via.Addr.Addr()}, false)
	if err != nil {
		return err
	}
	c.add(labs.Assert(fmt.Sprintf("ARP reply %s -> %s (%s is-at %s) reaches %s's kernel, unanswered", from.Node, via.Node, from.Addr.Addr(), from.MAC, via.Node),
		len(passed) == 1 && len(back) == 0, "1 reply at node1's kernel; nothing back",
		fmt.Sprintf("%d at node1's kernel; %s back", len(passed), plural(len(back), "frame", "frames")),
		"answer ARP requests only: check ar_op == bpf_htons(ARPOP_REQUEST), and pass replies to node1's kernel"+c.ex.arpRequest))
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
