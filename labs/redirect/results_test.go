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
		{"passed on to node2", obs([]witness.Frame{sent}, []witness.Frame{echo(false, hostMAC, host, node2)}),
			"", "the echo requests went on to node2 (1 of 3 arrived there): the program passed them to node1's kernel, which routed them"},
		{"vanished", obs([]witness.Frame{sent}, nil),
			"", "the echo requests went into node1/veth1 and came out nowhere, neither back to host nor on to node2: the program dropped them (XDP_DROP, or XDP_ABORTED"},
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
