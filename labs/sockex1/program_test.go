package sockex1

import (
	"encoding/binary"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// lo's frames carry an all-zero Ethernet header.
var zeroMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}

// protoOffset is where the filter reads the protocol: ETH_HLEN +
// offsetof(struct iphdr, protocol).
const protoOffset = 14 + 9

// ipv4Frame is an lo frame between two TEST-NET addresses, so the stack
// drops it on the way back in instead of answering (and being counted).
func ipv4Frame(t testing.TB, proto layers.IPProtocol, l4 gopacket.SerializableLayer, payload int) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto,
		SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
	if n, ok := l4.(interface {
		SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
	}); ok {
		n.SetNetworkLayerForChecksum(ip)
	}
	return testutils.Serialize(t, &layers.Ethernet{SrcMAC: zeroMAC, DstMAC: zeroMAC, EthernetType: layers.EthernetTypeIPv4},
		ip, l4, gopacket.Payload(make([]byte, payload)))
}

type frameCase struct {
	name  string
	frame []byte
	key   int  // protocol slot that must grow by len(frame); -1: none
	ipv4  bool // the frame is IPv4: the packets step counts it
}

func frames(t testing.TB) []frameCase {
	icmp := ipv4Frame(t, layers.IPProtocolICMPv4,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1}, 56)
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
		SrcIP: net.ParseIP("fd00::3"), DstIP: net.ParseIP("fd00::2")}
	tcp6 := &layers.TCP{SrcPort: 43910, DstPort: 8888, SYN: true}
	tcp6.SetNetworkLayerForChecksum(ip6)
	return []frameCase{
		{"icmp echo", icmp, protoICMP, true},
		{"tcp syn", ipv4Frame(t, layers.IPProtocolTCP, &layers.TCP{SrcPort: 43910, DstPort: 8888, SYN: true}, 0), protoTCP, true},
		{"udp", ipv4Frame(t, layers.IPProtocolUDP, &layers.UDP{SrcPort: 5000, DstPort: 9}, 100), protoUDP, true},
		{"gre", ipv4Frame(t, layers.IPProtocolGRE, &layers.GRE{Protocol: layers.EthernetTypeIPv4}, 20), int(layers.IPProtocolGRE), true},
		{"protocol 255, the last slot", ipv4Frame(t, layers.IPProtocol(protoRaw), gopacket.Payload(make([]byte, 8)), 30), protoRaw, true},
		// The sample reads byte 23 whatever the EtherType: for IPv6 that is
		// the second byte of the source address (0x00 of fd00::3).
		{"ipv6 counts under byte 23", testutils.Serialize(t,
			&layers.Ethernet{SrcMAC: zeroMAC, DstMAC: zeroMAC, EthernetType: layers.EthernetTypeIPv6}, ip6, tcp6), 0, false},
		// load_byte past the end stops the program: nothing is counted.
		{"cut before the protocol byte", icmp[:protoOffset], -1, true},
	}
}

// step is a step's own program, loaded for a test.
type step struct {
	name string
	ex   exercise
	prog *ebpf.Program
	m    *ebpf.Map
}

// loadSteps loads every step's embedded program.
func loadSteps(t testing.TB) []step {
	t.Helper()
	var out []step
	for _, s := range steps() {
		spec, err := programs[s.Name].load()
		if err != nil {
			t.Fatal(err)
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(coll.Close)
		out = append(out, step{s.Title(), exercises[s.Name], coll.Programs[progName], coll.Maps[mapName]})
	}
	return out
}

func snapshot(t testing.TB, m *ebpf.Map) tally {
	t.Helper()
	c, err := readTally(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestProgram runs every step's bpf_prog1 on crafted frames with
// BPF_PROG_TEST_RUN. The kernel builds the test skb as a received packet
// (its pkt_type comes from eth_type_trans and cannot be set to
// PACKET_OUTGOING), so this covers the half the filter must ignore:
// nothing is counted, and the socket keeps nothing (return 0), whatever
// the step. TestProgramOutgoing covers the counting half.
func TestProgram(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, s := range loadSteps(t) {
		for _, c := range frames(t) {
			if len(c.frame) < 14+20 {
				// The kernel refuses (EINVAL) to test-run an IPv4 frame whose IP
				// header is cut; TestProgramOutgoing sends it for real.
				continue
			}
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				before := snapshot(t, s.m)
				ret, err := s.prog.Run(&ebpf.RunOptions{Data: c.frame})
				if err != nil {
					t.Fatal(err)
				}
				if ret != 0 {
					t.Errorf("returned %d, want 0 (keep nothing)", ret)
				}
				if d := snapshot(t, s.m).sub(before); !d.empty() {
					t.Errorf("my_map counted %+v for a received packet", d)
				}
			})
		}
	}
}

// TestProgramOutgoing writes the same frames out of lo in a namespace of its
// own, where a packet socket running a step's bpf_prog1 sees them as
// PACKET_OUTGOING: each must add exactly its length (and one packet, in the
// packets step) under its protocol byte, IPv4 frames only in the packets
// step, and the socket must keep what the step says: nothing, or the first
// 34 bytes in the snap step. (Each frame also comes back in as PACKET_HOST,
// which must neither count again nor be kept.)
func TestProgramOutgoing(t *testing.T) {
	testutils.RequirePrivileged(t)
	ns, err := namespace.Create(testutils.Instance(t)+"-sockex1-prog", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Close()
		namespace.Delete(ns.Name)
	})
	lo, err := ns.Netlink().LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Netlink().LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	for _, s := range loadSteps(t) {
		filter, err := witness.Open(ns, "lo", witness.Options{Filter: s.prog})
		if err != nil {
			t.Fatal(err)
		}
		defer filter.Close()
		for _, c := range frames(t) {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				key := c.key
				if s.ex.ipv4Only && !c.ipv4 {
					key = -1
				}
				before := snapshot(t, s.m)
				// Sending on lo runs the taps (and so the filter) in this
				// thread, before the send returns.
				if err := witness.Send(ns, "lo", binary.BigEndian.Uint16(c.frame[12:14]), c.frame); err != nil {
					t.Fatal(err)
				}
				d := snapshot(t, s.m).sub(before)
				want := tally{bytes: grade.Counters[uint32]{}}
				if s.ex.packets {
					want.packets = grade.Counters[uint32]{}
				}
				if key >= 0 {
					want.bytes[uint32(key)] = uint64(len(c.frame))
					if s.ex.packets {
						want.packets[uint32(key)] = 1
					}
				}
				if !reflect.DeepEqual(d, want) {
					t.Errorf("my_map counted %+v, want %+v", d, want)
				}
				// A copy coming back in wrongly kept would be queued by
				// the time lo has been quiet for a moment.
				kept, err := filter.Frames(50 * time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				wantKept := 0
				if s.ex.snap > 0 && key >= 0 {
					wantKept = 1
				}
				if len(kept) != wantKept {
					t.Fatalf("the socket kept %d frames, want %d", len(kept), wantKept)
				}
				if wantKept == 1 && (!kept[0].Out || kept[0].Len != len(c.frame) || string(kept[0].Data) != string(c.frame[:s.ex.snap])) {
					t.Errorf("the socket kept %d of %d bytes (out %v), want the frame's first %d", len(kept[0].Data), kept[0].Len, kept[0].Out, s.ex.snap)
				}
			})
		}
	}
}

// BenchmarkProgram reports the program's cost per packet with
// BPF_PROG_TEST_RUN. A test-run skb is never outgoing, so this is the path
// every received packet takes: one load_byte and the pkt_type test.
func BenchmarkProgram(b *testing.B) {
	testutils.RequirePrivileged(b)
	base := loadSteps(b)[0]
	testutils.BenchmarkPackets(b, base.prog, frames(b)[0].frame)
}

// hintChecker is a checker that has counted what d shows, for the hint
// functions.
func hintChecker(step string, d tally) *checker {
	return &checker{ex: exercises[step], env: &labs.Env{Instance: "class1"}, counted: d}
}

func TestCountHintNamesInstance(t *testing.T) {
	twice := tally{bytes: grade.Counters[uint32]{protoICMP: 2 * 2 * pings * pingFrameLen}}
	if got := hintChecker("", twice).countHint(twice, protoICMP, sameSize("pings", 2*pings, pingFrameLen)); !strings.Contains(got, "(`xdplab watch sockex1 --instance class1`)") {
		t.Errorf("countHint on instance class1: %q", got)
	}
}

// TestCountHintFromEvidence: the hint names what the counters show, and
// the TODO of the step where that part is written.
func TestCountHintFromEvidence(t *testing.T) {
	const wantP, wantB = 2 * pings, 2 * pings * pingFrameLen
	bytesOnly := func(c grade.Counters[uint32]) tally { return tally{bytes: c} }
	pairs := func(p, b grade.Counters[uint32]) tally { return tally{packets: p, bytes: b} }
	for _, c := range []struct {
		step string
		d    tally
		want string
	}{
		{"", bytesOnly(grade.Counters[uint32]{0: wantB}), "the 980 bytes of the pings were counted under key 0 (IPPROTO_IP), not 1 (IPPROTO_ICMP): " +
			"index is the protocol byte at ETH_HLEN + offsetof(struct iphdr, protocol), 23 bytes into the frame (TODO 1 in sockex1.c)"},
		{"", bytesOnly(grade.Counters[uint32]{}), "nothing was counted: read the protocol byte into index (TODO 1 in sockex1.c)"},
		{"", bytesOnly(grade.Counters[uint32]{protoICMP: 2 * wantB}), "each packet was counted 2 times: return 0 before counting when skb->pkt_type is not PACKET_OUTGOING"},
		{"", bytesOnly(grade.Counters[uint32]{protoICMP: wantP}), "10 is the number of packets, not their bytes: add skb->len"},
		{"", bytesOnly(grade.Counters[uint32]{protoICMP: wantB - 14*wantP}), "each packet was counted 14 bytes short"},
		{"", bytesOnly(grade.Counters[uint32]{protoICMP: pingFrameLen}), "only one packet is in the count: bpf_map_update_elem replaced the value"},
		{"", bytesOnly(grade.Counters[uint32]{protoICMP: wantB - 1}), "add skb->len, the whole frame with its 14-byte Ethernet header, once per outgoing packet under its protocol byte (TODO 3 in sockex1.c)"},
		{stepPackets, pairs(grade.Counters[uint32]{protoICMP: wantB}, grade.Counters[uint32]{protoICMP: wantP}), "packets and bytes are swapped"},
		{stepPackets, pairs(grade.Counters[uint32]{}, grade.Counters[uint32]{protoICMP: wantB}), "the bytes are right but no packet was counted: add 1 to value->packets as well (TODO 2 in sockex1.c)"},
		{stepPackets, pairs(grade.Counters[uint32]{protoICMP: 1}, grade.Counters[uint32]{protoICMP: pingFrameLen}), "only one packet is in the count"},
		{stepPackets, pairs(grade.Counters[uint32]{}, grade.Counters[uint32]{}), "mind the byte order"},
	} {
		got := hintChecker(c.step, c.d).countHint(c.d, protoICMP, sameSize("pings", wantP, pingFrameLen))
		if !strings.Contains(got, c.want) {
			t.Errorf("step %q, %+v: %q\nwant it to say %q", c.step, c.d, got, c.want)
		}
	}
}
