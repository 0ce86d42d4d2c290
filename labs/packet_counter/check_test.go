package packetcounter

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// hintPlaces are the pair's sender and dut as the hints name them.
func hintPlaces() (sender, dut topology.Place) {
	sender.Node, sender.Iface = "host", "veth0"
	sender.MAC = net.HardwareAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	sender.Addr = netip.MustParsePrefix("192.168.0.3/24")
	dut.Node, dut.Iface = "node1", "veth1"
	dut.MAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	dut.Addr = netip.MustParsePrefix("192.168.0.2/24")
	return sender, dut
}

// udpFrames are n IPv4 datagrams as the sender sends them (TTL 64).
func udpFrames(t *testing.T, sender, dut topology.Place, n int) [][]byte {
	var out [][]byte
	for i := range n {
		f, err := packet.UDPFrame{SrcMAC: sender.MAC, DstMAC: dut.MAC,
			Src: netip.AddrPortFrom(sender.Addr.Addr(), uint16(4000+i)), Dst: netip.AddrPortFrom(dut.Addr.Addr(), udpPort)}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func echo6Frames(t *testing.T, sender, dut topology.Place, n int) [][]byte {
	var out [][]byte
	for i := range n {
		f, err := packet.ICMPv6Echo{SrcMAC: sender.MAC, DstMAC: dut.MAC, Src: hostIPv6, Dst: node1IPv6, ID: 1, Seq: uint16(i)}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// TestCountHint: a count that went wrong gets a hint from what the
// counters and the packets show, naming the TODO of the step's starter
// where the learner writes that part; without evidence, how to count.
func TestCountHint(t *testing.T) {
	sender, dut := hintPlaces()
	udp4 := udpFrames(t, sender, dut, 5)
	echo6 := echo6Frames(t, sender, dut, 3)
	ps, err := probes(sender, dut, false)
	if err != nil {
		t.Fatal(err)
	}
	swapped := probed{probe: ps[2], delta: grade.Counters[uint32]{17: 1}}
	if swapped.kind != probeSwapped {
		t.Fatalf("probe 2 is %q, want the byte-swapped one", swapped.what)
	}
	icmpCounted := phase{proto: protoICMP, what: "echo requests", want: 3, delta: grade.Counters[uint32]{1: 3}, ran: true}
	udp := func(d grade.Counters[uint32]) phase {
		return phase{proto: protoUDP, what: "datagrams", want: 5, frames: udp4, delta: d, ran: true}
	}
	v6 := func(d grade.Counters[uint32]) phase {
		return phase{proto: protoICMPv6, what: "IPv6 echo requests", want: 3, ipv6: true, frames: echo6, delta: d, ran: true}
	}
	for _, c := range []struct {
		name   string
		step   string
		p      phase
		others []phase
		probed []probed
		want   []string
	}{
		{"twice", "", udp(grade.Counters[uint32]{17: 10}), nil, nil,
			[]string{"each packet was counted 2 times: add 1 once per packet, in one place (TODO 3 in packet_counter.c)"}},
		{"ttl", "", udp(grade.Counters[uint32]{64: 5}), nil, nil,
			[]string{"the 5 datagrams were counted under key 64 (IPPROTO_64), not 17 (IPPROTO_UDP): in these packets 64 is ip->ttl, offset 8 of the IPv4 header; " +
				"the key must be ip->protocol, the byte at offset 9 of the IPv4 header (TODO 2 in packet_counter.c)"}},
		{"frame start", "", udp(grade.Counters[uint32]{0x33: 5}), nil, nil,
			[]string{"under key 51", "in these packets 51 is byte 9 of the frame, inside the source MAC address", "(TODO 2 in packet_counter.c)"}},
		{"index 0", "", udp(grade.Counters[uint32]{0: 5}), nil, nil,
			[]string{"counted under key 0 (IPPROTO_IP)", "every packet lands at index 0", "(TODO 2 in packet_counter.c)"}},
		{"nothing", "", udp(grade.Counters[uint32]{}), nil, nil, []string{exercises[""].nothing}},
		{"only icmp", "", udp(grade.Counters[uint32]{}), []phase{icmpCounted}, nil,
			[]string{"the 5 datagrams were not counted, while the echo requests were: count every IPv4 packet under ip->protocol, not only IPPROTO_ICMP (TODO 2 in packet_counter.c)"}},
		{"byte order", "", udp(grade.Counters[uint32]{}), []phase{icmpCounted}, []probed{swapped},
			[]string{"no IPv4 packet was counted, but an IPv4 packet under EtherType 0x0008 (0x0800 byte-swapped) was: the EtherType is compared in the wrong byte order; " +
				"eth->h_proto holds it big-endian, as on the wire, so compare it with bpf_htons(ETH_P_IP), not ETH_P_IP (TODO 1 in packet_counter.c)"}},
		{"set, not added", "", udp(grade.Counters[uint32]{17: 1}), nil, nil,
			[]string{"only 1 of the 5 datagrams moved the counter", "a counter set to 1 (*count = 1, or bpf_map_update_elem with a value of 1) stays at 1", "(TODO 3 in packet_counter.c)"}},
		{"no evidence", "", udp(grade.Counters[uint32]{64: 2, 17: 3}), nil, nil,
			[]string{"count each of the 5 datagrams exactly once under ip->protocol, the byte at offset 9 of the IPv4 header (TODO 2 in packet_counter.c) " +
				"(a lookup in a PERCPU_ARRAY returns this CPU's slot: add 1 to it)"}},
		{"dropped first", stepDropICMP, phase{proto: protoICMP, what: "echo requests", want: 3, frames: udp4, delta: grade.Counters[uint32]{}, ran: true},
			[]phase{udp(grade.Counters[uint32]{17: 5})}, nil, []string{exercises[stepDropICMP].nothing}},
		{"ipv6 nothing", stepIPv6, v6(grade.Counters[uint32]{}), nil, nil,
			[]string{"the IPv6 packets were not counted: recognise EtherType ETH_P_IPV6 and check a whole struct ipv6hdr fits " +
				"(TODO 1 in packet_counter.c), then count under ip6->nexthdr (TODO 2 in packet_counter.c)"}},
		{"ipv6 read as ipv4", stepIPv6, v6(grade.Counters[uint32]{0x78: 3}), nil, nil,
			[]string{"the 3 IPv6 echo requests were counted under key 120 (IPPROTO_120), not 58 (IPPROTO_ICMPV6): in these packets 120 is byte 9 of the IPv6 header", "read as a struct iphdr",
				"the key must be ip6->nexthdr, the byte at offset 6 of the IPv6 header (TODO 2 in packet_counter.c)"}},
		{"ipv6 hop limit", stepIPv6, v6(grade.Counters[uint32]{64: 3}), nil, nil, []string{"in these packets 64 is ip6->hop_limit"}},
		{"ipv6 under 41", stepIPv6, v6(grade.Counters[uint32]{41: 3}), nil, nil,
			[]string{"under key 41 (IPPROTO_IPV6)", "41 is the protocol number of an IPv6 packet carried inside IPv4", "(TODO 2 in packet_counter.c)"}},
		{"icmpv6 under icmp", stepIPv6, v6(grade.Counters[uint32]{1: 3}), nil, nil, []string{"ICMPv6 has a protocol number of its own, 58"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ck := &checker{ex: exercises[c.step], sender: sender, dut: dut, probes: ps, probed: c.probed}
			ck.udp4 = c.p
			if c.p.ipv6 {
				ck.udp4 = phase{}
				ck.v6 = []phase{c.p}
			}
			if len(c.others) > 0 {
				ck.icmp = c.others[0]
			}
			got := ck.countHint(c.p)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("hint %q\nlacks %q", got, w)
				}
			}
		})
	}
}

// TestProbeCountHint: which probes were counted says what the program's
// EtherType test or bounds check gets wrong.
func TestProbeCountHint(t *testing.T) {
	sender, dut := hintPlaces()
	ps, err := probes(sender, dut, false)
	if err != nil {
		t.Fatal(err)
	}
	ps6, err := probes(sender, dut, true)
	if err != nil {
		t.Fatal(err)
	}
	counted := func(ps []probe, kinds ...probeKind) []probed {
		var out []probed
		for _, p := range ps {
			r := probed{probe: p, delta: grade.Counters[uint32]{}}
			for _, k := range kinds {
				if p.kind == k {
					r.delta[0xfe] = 1
				}
			}
			out = append(out, r)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		step   string
		probed []probed
		want   []string
	}{
		{"no ethertype test", "", counted(ps, probeOther, probeSwapped, probeVLAN),
			[]string{"the program counts frames whose EtherType is not IPv4 (an ARP request, an IPv6 packet)", "unless eth->h_proto is bpf_htons(ETH_P_IP) (TODO 1 in packet_counter.c)"}},
		{"byte order", "", counted(ps, probeSwapped), []string{"wrong byte order", "bpf_htons(ETH_P_IP)"}},
		{"vlan", "", counted(ps, probeVLAN), []string{"the program counts an 802.1Q-tagged IPv4 packet under IPPROTO_254 +1", "skip the VLAN tag"}},
		{"cut", "", counted(ps, probeCut), []string{"the program counts an IPv4 header cut short (19 of 20 bytes): count a packet only when its whole struct iphdr fits"}},
		{"ipv6 cut", stepIPv6, counted(ps6[len(ps6)-1:], probeCut),
			[]string{"an IPv6 header cut short (39 of 40 bytes)", "whole struct ipv6hdr fits", "(TODO 1 in packet_counter.c)"}},
		{"ipv6 byte order", stepIPv6, counted(ps6[len(ps6)-2:len(ps6)-1], probeSwapped), []string{"wrong byte order", "bpf_htons(ETH_P_IPV6), not ETH_P_IPV6 (TODO 1 in packet_counter.c)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ck := &checker{ex: exercises[c.step], sender: sender, dut: dut, probed: c.probed}
			got := ck.probeCountHint()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("hint %q\nlacks %q", got, w)
				}
			}
		})
	}
}

// TestProbes: the probe frames are what they say, as internal/packet
// decodes them, and the ARP request as gopacket decodes it.
func TestProbes(t *testing.T) {
	sender, dut := hintPlaces()
	for _, ipv6 := range []bool{false, true} {
		ps, err := probes(sender, dut, ipv6)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			f := packet.Decode(p.frame)
			if got := f.Ethernet.Type; got != p.etherType {
				t.Errorf("%s: EtherType %#04x, want %#04x", p.what, got, p.etherType)
			}
			switch p.kind {
			case probeOther:
				if !f.Has(packet.LayerARP) && !f.Has(packet.LayerIPv6) {
					t.Errorf("%s: decodes as %s", p.what, f.Summary())
				}
				if f.Has(packet.LayerARP) {
					arp, _ := gopacket.NewPacket(p.frame, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeARP).(*layers.ARP)
					if arp == nil || arp.Operation != layers.ARPRequest || !bytes.Equal(arp.SourceHwAddress, sender.MAC) ||
						!bytes.Equal(arp.SourceProtAddress, []byte{192, 168, 0, 3}) || !bytes.Equal(arp.DstProtAddress, []byte{192, 168, 0, 3}) {
						t.Errorf("%s: gopacket decodes %+v", p.what, arp)
					}
				}
			case probeVLAN:
				if !f.Has(packet.LayerDot1Q|packet.LayerIPv4|packet.LayerUDP) || f.VLAN.ID != vlanID || f.IPv4.ID != probeIPID {
					t.Errorf("%s: decodes as %s (vlan %d, ip id %#x)", p.what, f.Summary(), f.VLAN.ID, f.IPv4.ID)
				}
				// Read 4 bytes early, as an untagged IPv4 header, its
				// protocol is the low byte of the IP identification.
				if p.frame[14+9] != 0xfe {
					t.Errorf("%s: byte 23 is %#x, want 0xfe", p.what, p.frame[14+9])
				}
			case probeCut:
				if f.Err == nil {
					t.Errorf("%s: decodes whole (%s)", p.what, f.Summary())
				}
			}
		}
	}
}

// TestDropVerdict: the drop_icmp step asks the program what it returns for
// the echo requests the host sent; a verdict other than XDP_DROP fails
// with a hint naming it, a program that cannot be run is a SKIP with the
// reason, and no echo request at all is blamed on an ARP drop when the
// program drops ARP.
func TestDropVerdict(t *testing.T) {
	sender, dut := hintPlaces()
	ps, err := probes(sender, dut, false)
	if err != nil {
		t.Fatal(err)
	}
	echo := udpFrames(t, sender, dut, 3) // stand-ins: the program under test is a function here
	always := func(a grade.XDPAction) func([][]byte) (grade.Verdicts, error) {
		return func(frames [][]byte) (grade.Verdicts, error) {
			v := make(grade.Verdicts, len(frames))
			for i := range v {
				v[i] = a
			}
			return v, nil
		}
	}
	cannotRun := func([][]byte) (grade.Verdicts, error) {
		return nil, errors.New("no xdp program is attached to node1/veth1")
	}
	for _, c := range []struct {
		name     string
		frames   [][]byte
		run      func([][]byte) (grade.Verdicts, error)
		pass     bool
		observed string
		hint     string
		skipped  string
	}{
		{"dropped", echo, always(grade.XDPDrop), true, "XDP_DROP", "", ""},
		{"aborted", echo, always(grade.XDPAborted), false, "XDP_ABORTED", "the echo requests go to XDP_ABORTED", ""},
		{"bounced", echo, always(grade.XDPTx), false, "XDP_TX", "XDP_TX sends each echo request back out of veth1", ""},
		{"passed", echo, always(grade.XDPPass), false, "XDP_PASS", "the program passes echo requests: return XDP_DROP when ip->protocol is IPPROTO_ICMP (TODO 1 in packet_counter.c)", ""},
		{"cannot run", echo, cannotRun, true, "not checked", "", "the program could not be run on them: no xdp program is attached to node1/veth1"},
		{"none sent", nil, always(grade.XDPDrop), false, "no echo request left host",
			"host sent no echo request: it never learnt node1's MAC address, because the program returns XDP_DROP for ARP requests", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ck := &checker{ex: exercises[stepDropICMP], sender: sender, dut: dut, probes: ps, run: c.run}
			ck.icmp = phase{proto: protoICMP, what: "echo requests", want: 3, frames: c.frames, ran: true}
			r := ck.dropVerdict()
			if r.Pass != c.pass || r.Observed != c.observed || !strings.Contains(r.Hint, c.hint) || r.Skipped != c.skipped {
				t.Errorf("%+v\nwant pass %v, observed %q, hint with %q, skipped %q", r, c.pass, c.observed, c.hint, c.skipped)
			}
		})
	}
}
