package basicfirewall

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/grade"
)

// XDP return codes.
const (
	xdpDrop = 1
	xdpPass = 2
)

var (
	srcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	dstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// echoFrom is an ICMP echo request from src to node1, as ping sends it.
func echoFrom(t testing.TB, src string) []byte {
	t.Helper()
	return testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4,
			SrcIP: net.ParseIP(src).To4(), DstIP: net.IP{192, 168, 0, 2}},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1},
		gopacket.Payload(make([]byte, 56)))
}

// loadForTest loads the lab's program with rules installed the way Up does
// (rule i gets index i), without attaching or pinning anything.
func loadForTest(t testing.TB, rules ...string) (*basicFirewallObjects, *fwMaps) {
	t.Helper()
	var objs basicFirewallObjects
	if err := loadBasicFirewallObjects(&objs, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objs.Close() })
	m := &fwMaps{blacklist: objs.Blacklist, matches: objs.Matches}
	for i, r := range rules {
		p, err := ParseRule(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.insert(p, uint32(i)); err != nil {
			t.Fatal(err)
		}
	}
	return &objs, m
}

// TestProgram runs the program on crafted frames with BPF_PROG_TEST_RUN: a
// source inside a rule is dropped and counted under the longest matching
// rule, everything else passes and counts nowhere.
func TestProgram(t *testing.T) {
	testutils.RequirePrivileged(t)
	objs, m := loadForTest(t, "10.0.0.0/8", "192.168.0.0/24", "192.168.0.3/32")

	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6,
		SrcIP: net.ParseIP("fd00::3"), DstIP: net.ParseIP("fd00::2")}
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	icmp6.SetNetworkLayerForChecksum(ip6)
	ipv6 := testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv6},
		ip6, icmp6, gopacket.Payload(make([]byte, 56)))
	// ARP carries 192.168.0.3 as its sender, but it is not IPv4: it must pass,
	// or the host could never resolve node1.
	arp := testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: srcMAC, SourceProtAddress: []byte{192, 168, 0, 3},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 168, 0, 2}})
	// An IPv4 EtherType whose IP header is cut off: must not be read.
	truncated := echoFrom(t, "192.168.0.3")[:14+10]

	cases := []struct {
		name  string
		frame []byte
		want  uint32
		rule  int // index that must count, -1 for none
	}{
		{"inside 10.0.0.0/8", echoFrom(t, "10.200.3.4"), xdpDrop, 0},
		{"inside 192.168.0.0/24 only", echoFrom(t, "192.168.0.7"), xdpDrop, 1},
		{"192.168.0.3 takes the longest prefix", echoFrom(t, "192.168.0.3"), xdpDrop, 2},
		{"outside every rule", echoFrom(t, "172.16.0.1"), xdpPass, -1},
		{"next to a rule", echoFrom(t, "192.168.1.3"), xdpPass, -1},
		{"byte order", echoFrom(t, "3.0.168.192"), xdpPass, -1},
		{"ipv6", ipv6, xdpPass, -1},
		{"arp", arp, xdpPass, -1},
		{"truncated ip header", truncated, xdpPass, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ret uint32
			d, runErr, err := grade.Measure[uint32](t.Context(), m.matches, func() (err error) {
				ret, err = objs.Firewall.Run(&ebpf.RunOptions{Data: c.frame})
				return err
			})
			if err := errors.Join(runErr, err); err != nil {
				t.Fatal(err)
			}
			if ret != c.want {
				t.Errorf("returned %d, want %d", ret, c.want)
			}
			want := grade.Counters[uint32]{}
			if c.rule >= 0 {
				want[uint32(c.rule)] = 1
			}
			if !reflect.DeepEqual(d, want) {
				t.Errorf("matches counted %s, want %s", d.Format(matchesKey), want.Format(matchesKey))
			}
		})
	}
}

// TestRuleChanges exercises what `xdplab fw` does to the maps: indices are
// stable, a freed index is reused with its counter reset, a full blacklist
// refuses more rules.
func TestRuleChanges(t *testing.T) {
	testutils.RequirePrivileged(t)
	objs, m := loadForTest(t, "10.0.0.0/8", "192.168.0.0/24")
	drop := func(src string) {
		t.Helper()
		if ret, err := objs.Firewall.Run(&ebpf.RunOptions{Data: echoFrom(t, src)}); err != nil || ret != xdpDrop {
			t.Fatalf("frame from %s: returned %d, %v; want XDP_DROP", src, ret, err)
		}
	}
	drop("10.1.1.1")
	drop("10.1.1.1")

	r, err := m.add(netip.MustParsePrefix("172.16.0.0/12"))
	if err != nil || r.Index != 2 {
		t.Fatalf("add 172.16.0.0/12 = %+v, %v; want index 2", r, err)
	}
	if _, err := m.add(netip.MustParsePrefix("10.0.0.0/8")); err == nil {
		t.Error("adding an existing rule succeeded")
	}
	r, err = m.del(netip.MustParsePrefix("10.0.0.0/8"))
	if err != nil || r.Index != 0 || r.Matches != 2 {
		t.Fatalf("del 10.0.0.0/8 = %+v, %v; want index 0 with 2 matches", r, err)
	}
	if ret, _ := objs.Firewall.Run(&ebpf.RunOptions{Data: echoFrom(t, "10.1.1.1")}); ret != xdpPass {
		t.Errorf("after del, 10.1.1.1 returned %d, want XDP_PASS", ret)
	}
	if _, err := m.del(netip.MustParsePrefix("10.0.0.0/8")); err == nil {
		t.Error("deleting a missing rule succeeded")
	}
	r, err = m.add(netip.MustParsePrefix("192.168.0.3/32"))
	if err != nil || r.Index != 0 {
		t.Fatalf("add 192.168.0.3/32 = %+v, %v; want the freed index 0", r, err)
	}
	rules, err := m.rules()
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{0, netip.MustParsePrefix("192.168.0.3/32"), 0},
		{1, netip.MustParsePrefix("192.168.0.0/24"), 0},
		{2, netip.MustParsePrefix("172.16.0.0/12"), 0},
	}
	if len(rules) != len(want) {
		t.Fatalf("rules = %v, want %v", rules, want)
	}
	for i := range want {
		if rules[i] != want[i] {
			t.Errorf("rule %d = %+v, want %+v", i, rules[i], want[i])
		}
	}

	for i := len(rules); i < m.capacity(); i++ {
		if _, err := m.add(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16)); err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
	}
	if _, err := m.add(netip.MustParsePrefix("10.99.0.0/16")); err == nil {
		t.Errorf("rule %d of %d was accepted", m.capacity()+1, m.capacity())
	}
}

// BenchmarkProgram reports the program's cost per packet, for a packet a rule
// drops and one that passes.
func BenchmarkProgram(b *testing.B) {
	testutils.RequirePrivileged(b)
	objs, _ := loadForTest(b, "10.0.0.0/8", "192.168.0.0/24", "172.16.0.0/12")
	for _, c := range []struct{ name, src string }{{"drop", "192.168.0.3"}, {"pass", "8.8.8.8"}} {
		b.Run(c.name, func(b *testing.B) {
			f := echoFrom(b, c.src)
			testutils.BenchmarkPackets(b, objs.Firewall, f)
		})
	}
}

// TestFreeSource: the check's source is the first address of its ranges
// that no rule contains and whose /30 holds no address of the lab; without
// one, the rules in the way are named.
func TestFreeSource(t *testing.T) {
	rules := func(cidrs ...string) []Rule {
		var out []Rule
		for i, c := range cidrs {
			out = append(out, Rule{Index: uint32(i), Prefix: netip.MustParsePrefix(c)})
		}
		return out
	}
	prefixes := func(cidrs ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, c := range cidrs {
			out = append(out, netip.MustParsePrefix(c))
		}
		return out
	}
	for _, c := range []struct {
		name     string
		rules    []Rule
		taken    []netip.Prefix
		want     string
		blocking []string
	}{
		{"no rules", nil, prefixes("192.168.0.0/24"), "198.18.0.1", nil},
		{"the lab's own rules", rules("192.168.0.0/24", "192.168.0.3/32", "10.0.0.0/8"), nil, "198.18.0.1", nil},
		{"its /32", rules("198.18.0.1/32"), nil, "198.18.0.5", nil},
		{"its /31", rules("198.18.0.0/31"), nil, "198.18.0.5", nil},
		{"the first /24", rules("198.18.0.0/24"), nil, "198.18.1.1", nil},
		{"an address of the lab there", nil, prefixes("198.18.0.2/32"), "198.18.0.5", nil},
		{"a subnet of the lab there", nil, prefixes("198.18.0.0/16"), "198.19.0.1", nil},
		{"the whole first range", rules("198.18.0.0/15"), nil, "100.64.0.1", nil},
		{"first three ranges", rules("198.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12"), nil, "10.0.0.1", nil},
		{"everything", rules("10.0.0.0/8", "0.0.0.0/0"), nil, "invalid IP", []string{"0.0.0.0/0"}},
		{"two halves", rules("0.0.0.0/1", "128.0.0.0/1"), nil, "invalid IP", []string{"128.0.0.0/1", "0.0.0.0/1"}},
		{"the lab's addresses everywhere", nil, prefixes("0.0.0.0/0"), "invalid IP", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, blocking := freeSource(c.rules, c.taken)
			var names []string
			for _, r := range blocking {
				names = append(names, r.Prefix.String())
			}
			if got.String() != c.want || !slices.Equal(names, c.blocking) {
				t.Errorf("freeSource = %s, %v; want %s, %v", got, names, c.want, c.blocking)
			}
		})
	}
	if i, ok := freeIndex(rules("10.0.0.0/8", "11.0.0.0/8"), 16); !ok || i != 15 {
		t.Errorf("freeIndex = %d, %v; want 15", i, ok)
	}
	full := make([]Rule, 16)
	for i := range full {
		full[i] = Rule{Index: uint32(i)}
	}
	if _, ok := freeIndex(full, 16); ok {
		t.Error("freeIndex found a slot in a full blacklist")
	}
	if i, ok := freeIndex(append(full[:3:3], Rule{Index: 15}), 16); !ok || i != 14 {
		t.Errorf("freeIndex = %d, %v; want 14", i, ok)
	}
}
