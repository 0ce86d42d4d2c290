package redirect

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

func TestFormat(t *testing.T) {
	got := Format(grade.Counters[uint32]{fibSuccess: 6, actionRedirect: 6, fibNoNeigh: 1, arpAnswered: 2})
	want := "fib SUCCESS : 6\nfib NO_NEIGH : 1\nredirect XDP_REDIRECT : 6\nARP answered : 2\n\n"
	if got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got := Format(grade.Counters[uint32]{}); got != "nothing counted yet\n\n" {
		t.Errorf("Format(empty) = %q", got)
	}
}

// TestExplain: each failure the program can count leads to a hint that
// names it, so a learner reads why nothing was reflected.
func TestExplain(t *testing.T) {
	cases := []struct {
		d      grade.Counters[uint32]
		native bool
		want   string
	}{
		{grade.Counters[uint32]{fibFwdDisabled: 3}, false, "fib lookup returned FWD_DISABLED 3 times: ip_forward is off in node1 (net.ipv4.ip_forward = 0 there)"},
		{grade.Counters[uint32]{fibNoNeigh: 1, fibSuccess: 4}, false, "fib lookup returned NO_NEIGH 1 times"},
		{grade.Counters[uint32]{fibNotFwded: 2}, false, "fib lookup returned NOT_FWDED"},
		{grade.Counters[uint32]{fibUnreachable: 1}, false, "(UNREACHABLE +1)"},
		{grade.Counters[uint32]{fibNoNeigh: 2}, false, "see `ip -n lab2-redirect-node1 neigh`, or run `xdplab down redirect --instance lab2` and `xdplab up redirect --instance lab2` again"},
		{grade.Counters[uint32]{fibFragNeeded: 3}, false, "fib lookup returned FRAG_NEEDED 3 times: the lookup took the packet for larger than the egress MTU; fib.tot_len is the packet's length in host byte order, bpf_ntohs(ip->tot_len), or 0 (TODO 1 in redirect.c)"},
		{grade.Counters[uint32]{resultFibError: 3}, false, "bpf_fib_lookup failed with an error 3 times"},
		{grade.Counters[uint32]{fibSuccess: 3, actionAborted: 3}, false, "bpf_redirect_map returned XDP_ABORTED 3 times: its key was not in if_redirect. The key must be fib.ifindex, the interface the lookup chose (TODO 4 in redirect.c)"},
		{grade.Counters[uint32]{fibSuccess: 3, actionTX: 3}, false, "the program returned redirect XDP_TX +3 after a successful lookup"},
		{grade.Counters[uint32]{fibSuccess: 3, actionRedirect: 3}, true, "in native mode a veth takes redirected frames only when its peer runs an XDP program (xdp_pass on host/veth0 and node2/veth3, see `xdplab status --instance lab2`)"},
		{grade.Counters[uint32]{fibSuccess: 3, actionRedirect: 3}, false, "copy the lookup's dmac and smac into the Ethernet header"},
	}
	for _, c := range cases {
		sit := situation{instance: "lab2", node1: "lab2-redirect-node1", native: c.native, forward: "0",
			rebuild: "run `xdplab down redirect --instance lab2` and `xdplab up redirect --instance lab2` again", ex: exercises[""]}
		if got := explain(c.d, sit); !strings.Contains(got, c.want) {
			t.Errorf("explain(%v, native=%v) = %q, want it to contain %q", c.d, c.native, got, c.want)
		}
	}
	if got := explain(grade.Counters[uint32]{}, situation{}); got != "" {
		t.Errorf("explain(nothing) = %q, want no hint from the counters", got)
	}
	if got := failures(grade.Counters[uint32]{fibFwdDisabled: 2, actionRedirect: 1, fibSuccess: 4}); got != "FWD_DISABLED +2" {
		t.Errorf("failures = %q", got)
	}
}

func TestDevmapFits(t *testing.T) {
	if err := devmapFits(ebpf.DevMapHash, 64, 100000); err != nil {
		t.Errorf("DEVMAP_HASH refused a large ifindex: %v", err)
	}
	if err := devmapFits(ebpf.DevMap, 1024, 1023); err != nil {
		t.Errorf("DEVMAP(1024) refused ifindex 1023: %v", err)
	}
	err := devmapFits(ebpf.DevMap, 1, 2)
	if !errors.Is(err, ErrIfindexTooLarge) || !strings.Contains(err.Error(), "max_entries 1") {
		t.Errorf("DEVMAP(1) with ifindex 2: %v", err)
	}
}

func TestCheckValueSizes(t *testing.T) {
	for size, ok := range map[uint32]bool{4: true, 8: true, 2: false, 16: false} {
		spec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{mapRedirect: {Name: mapRedirect, ValueSize: size}}}
		if err := checkValueSizes(spec); (err == nil) != ok {
			t.Errorf("if_redirect value size %d: %v", size, err)
		}
	}
	for size, ok := range map[uint32]bool{6: true, 8: true, 4: false, 12: false} {
		spec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{mapRedirect: {ValueSize: 4}, mapARP: {Name: mapARP, ValueSize: size}}}
		err := checkValueSizes(spec)
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "a MAC address")) {
			t.Errorf("arp_table value size %d: %v", size, err)
		}
	}
}

// TestEvidenceHints: where the witnesses show the mistake, the hint names
// it; where they show nothing amiss, there is no hint from them.
func TestEvidenceHints(t *testing.T) {
	hostMAC, node1MAC := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	place := func(node, iface, addr string, mac net.HardwareAddr) topology.Place {
		return topology.Place{ResolvedEndpoint: topology.ResolvedEndpoint{Node: node, Iface: iface, Addr: netip.MustParsePrefix(addr), MAC: mac}}
	}
	sender, dut, receiver := place("host", "veth0", "192.168.0.3/24", hostMAC), place("node1", "veth1", "192.168.0.2/24", node1MAC),
		place("node2", "veth3", "192.168.1.5/24", nil)
	host, node2 := sender.Addr.Addr(), receiver.Addr.Addr()
	echo := func(out bool, dstMAC net.HardwareAddr, src, dst netip.Addr) witness.Frame {
		data := testutils.Serialize(t,
			&layers.Ethernet{SrcMAC: node1MAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()},
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1})
		return witness.Frame{Out: out, Len: len(data), Data: data, Packet: packet.Decode(data)}
	}
	sent := echo(true, node1MAC, host, node2)
	obs := func(atSender, atReceiver []witness.Frame) *observation {
		return &observation{ping: grade.Pinged{Count: pings, PingResult: traffic.PingResult{ID: 7}}, sender: atSender, receiver: atReceiver}
	}
	cases := []struct {
		name                string
		o                   *observation
		frameHint, pathHint string
	}{
		{"came back unchanged", obs([]witness.Frame{sent, echo(false, hostMAC, host, node2)}, nil),
			"the packets came back to host/veth0 unchanged (192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1): swap the IP addresses, source 192.168.1.5 and destination 192.168.0.3", ""},
		{"MAC not rewritten", obs([]witness.Frame{sent, echo(false, node1MAC, node2, host)}, nil),
			"the reflected frames reach host/veth0 addressed to MAC 02:00:00:00:00:02, not to its own 02:00:00:00:00:01, so its kernel drops them: copy the lookup's dmac into h_dest", ""},
		{"reflected", obs([]witness.Frame{sent, echo(false, hostMAC, node2, host)}, nil), "", ""},
		{"checksum broken", obs([]witness.Frame{sent, badChecksum(echo(false, hostMAC, node2, host))}, nil),
			"the reflected packets reach host/veth0 with a wrong IP header checksum, so its kernel drops them", ""},
		{"sent with the empty MACs of a failed lookup", obs([]witness.Frame{sent, echo(false, make(net.HardwareAddr, 6), node2, host)}, nil),
			"addressed to MAC 00:00:00:00:00:00: fib.dmac is empty when the lookup did not succeed", ""},
		{"passed on to node2", obs([]witness.Frame{sent}, []witness.Frame{echo(false, hostMAC, host, node2)}),
			"", "the echo requests went on to node2 (1 of 3 arrived there): the program passed them to node1's kernel, which routed them"},
		{"vanished", obs([]witness.Frame{sent}, nil),
			"", "the echo requests went into node1/veth1 and came out nowhere, neither back to host nor on to node2: the program dropped them (XDP_DROP, or XDP_ABORTED"},
	}
	wrongWay := obs([]witness.Frame{sent}, []witness.Frame{echo(false, hostMAC, node2, host)})
	if h := wrongWay.wrongWayHint(sender, dut, receiver, exercises[""]); !strings.Contains(h, "left node1 towards node2 instead of going back to host: the lookup asked the way to the packet's destination") ||
		!strings.HasSuffix(h, "(TODO 1 in redirect.c)") {
		t.Errorf("wrong way hint %q", h)
	}
	if h := obs([]witness.Frame{sent}, []witness.Frame{echo(false, hostMAC, host, node2)}).wrongWayHint(sender, dut, receiver, exercise{}); h != "" {
		t.Errorf("packets passed on unchanged got the wrong way hint %q", h)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, h := range []struct{ got, want string }{
				{c.o.frameHint(sender, node2, exercise{}), c.frameHint},
				{c.o.passedOnHint(dut, receiver) + c.o.vanishedHint(sender, dut, receiver), c.pathHint},
			} {
				if (h.want == "") != (h.got == "") || !strings.Contains(h.got, h.want) {
					t.Errorf("hint %q, want %q", h.got, h.want)
				}
			}
		})
	}
}

func TestGuide(t *testing.T) {
	g := New().Info().Guide
	for _, want := range []string{"tcpdump", "192.168.1.5 > 192.168.0.3: ICMP echo request"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide lacks %q", want)
		}
	}
}

// badChecksum is a frame whose IPv4 header checksum no longer matches, as
// after a TTL change that did not update it.
func badChecksum(f witness.Frame) witness.Frame {
	data := append([]byte(nil), f.Data...)
	data[14+8]-- // the TTL
	return witness.Frame{Out: f.Out, Len: len(data), Data: data, Packet: packet.Decode(data)}
}

// TestUDPHint: each way of getting the port swap wrong shows in the
// reflected datagram's ports, and the hint names it.
func TestUDPHint(t *testing.T) {
	place := func(node, addr string) topology.Place {
		return topology.Place{ResolvedEndpoint: topology.ResolvedEndpoint{Node: node, Iface: "veth", Addr: netip.MustParsePrefix(addr), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}}
	}
	from, via, to := place("host", "192.168.0.3/24"), place("node1", "192.168.0.2/24"), place("node2", "192.168.1.5/24")
	local := netip.MustParseAddrPort("192.168.0.3:40000")
	back := func(sport, dport uint16) witness.Frame {
		f, err := packet.UDPFrame{SrcMAC: via.MAC, DstMAC: from.MAC, Src: netip.AddrPortFrom(to.Addr.Addr(), sport),
			Dst: netip.AddrPortFrom(from.Addr.Addr(), dport), Payload: []byte("x")}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return witness.Frame{Data: f, Packet: packet.Decode(f)}
	}
	c := &checker{ex: exercises[stepUDP]}
	for _, tc := range []struct {
		name   string
		frames []witness.Frame
		atTo   int
		d      grade.Counters[uint32]
		want   string
	}{
		{"not swapped", []witness.Frame{back(40000, 9)}, 0, nil, "addressed to port 9, from port 40000: their ports were not swapped"},
		{"overwritten", []witness.Frame{back(9, 9)}, 0, nil, "with both ports 9: the first assignment overwrote a port"},
		{"byte-swapped", []witness.Frame{back(0x0900, 0x409c)}, 0, nil, "byte-swapped (2304 -> 16540, want 9 -> 40000)"},
		{"other", []witness.Frame{back(7, 7000)}, 0, nil, "with ports 7 -> 7000, want 9 -> 40000"},
		{"passed", nil, 3, grade.Counters[uint32]{}, "the datagrams went on to node2 (3 arrived there): the program passed them; reflect UDP as well as ICMP (TODO 1 in redirect.c)"},
		{"passed after the lookup", nil, 3, grade.Counters[uint32]{fibSuccess: 3}, "the program looked them up but then passed them; the UDP header starts ip->ihl * 4 bytes"},
		{"vanished", nil, 0, nil, "came out nowhere"},
	} {
		if got := c.udpHint(tc.frames, from, via, to, local, tc.atTo, tc.d); !strings.Contains(got, tc.want) {
			t.Errorf("%s: hint %q, want it to contain %q", tc.name, got, tc.want)
		}
	}
	if f := back(9, 40000); !udpChecksumValid(f) {
		t.Error("a datagram the builder wrote has an invalid checksum")
	}
}

// TestARPFieldHint: every wrong field of an ARP reply is named with how to
// write it; a right reply has nothing to say about its fields.
func TestARPFieldHint(t *testing.T) {
	place := func(node, addr string, mac net.HardwareAddr) topology.Place {
		return topology.Place{ResolvedEndpoint: topology.ResolvedEndpoint{Node: node, Iface: "veth", Addr: netip.MustParsePrefix(addr), MAC: mac}}
	}
	asker, via := place("host", "192.168.0.3/24", net.HardwareAddr{2, 0, 0, 0, 0, 3}), place("node1", "192.168.0.2/24", net.HardwareAddr{2, 0, 0, 0, 0, 2})
	reply := func(op uint16, ethDst, sha, tha net.HardwareAddr, sip, tip string) witness.Frame {
		f, err := packet.ARPFrame{SrcMAC: via.MAC, DstMAC: ethDst, Operation: op, SenderHW: sha, SenderIP: netip.MustParseAddr(sip),
			TargetHW: tha, TargetIP: netip.MustParseAddr(tip)}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return witness.Frame{Data: f, Packet: packet.Decode(f)}
	}
	ex := exercises[stepARP]
	right := reply(packet.ARPReply, asker.MAC, via.MAC, asker.MAC, "192.168.0.2", "192.168.0.3")
	if got := arpFieldHint(right, asker, via, ex); strings.Contains(got, "not right") {
		t.Errorf("a right reply got %q", got)
	}
	for _, tc := range []struct {
		f    witness.Frame
		want []string
	}{
		{reply(0x0200, asker.MAC, via.MAC, asker.MAC, "192.168.0.2", "192.168.0.3"), []string{"ar_op is 512, ARPOP_REPLY byte-swapped: write bpf_htons(ARPOP_REPLY)"}},
		{reply(packet.ARPRequest, asker.MAC, via.MAC, asker.MAC, "192.168.0.2", "192.168.0.3"), []string{"ar_op is 1: write bpf_htons(ARPOP_REPLY)"}},
		{reply(packet.ARPReply, packet.Broadcast, asker.MAC, via.MAC, "192.168.0.3", "192.168.0.2"),
			[]string{"h_dest is ff:ff:ff:ff:ff:ff", "ar_sha is 02:00:00:00:00:03", "ar_sip is 192.168.0.3", "ar_tha is 02:00:00:00:00:02", "ar_tip is 192.168.0.2"}},
	} {
		got := arpFieldHint(tc.f, asker, via, ex)
		for _, w := range append(tc.want, "(TODO 3 in redirect.c)") {
			if !strings.Contains(got, w) {
				t.Errorf("hint %q lacks %q", got, w)
			}
		}
	}
}

// TestFreeAddress: the check's ARP request for "nobody" asks for an
// address of the sender's subnet that no interface of the lab has, and not
// the subnet's broadcast address.
func TestFreeAddress(t *testing.T) {
	res, err := topology.Resolve(topology.Redirect(), "x", "redirect")
	if err != nil {
		t.Fatal(err)
	}
	d := &topology.Deployed{Resolved: res}
	e, err := res.Role("sender")
	if err != nil {
		t.Fatal(err)
	}
	got := freeAddress(d, topology.Place{ResolvedEndpoint: e})
	if got.String() != "192.168.0.254" {
		t.Errorf("free address %s, want 192.168.0.254", got)
	}
}
