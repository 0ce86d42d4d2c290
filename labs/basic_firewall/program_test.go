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
		p, err := ParseRule(r, false)
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
		{Index: 0, Prefix: netip.MustParsePrefix("192.168.0.3/32")},
		{Index: 1, Prefix: netip.MustParsePrefix("192.168.0.0/24")},
		{Index: 2, Prefix: netip.MustParsePrefix("172.16.0.0/12")},
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

// TestFreeSource: the check's block is the first /29 of its ranges that
// no rule and no subnet of the lab overlaps; without one, the rules in the
// way are named. Its IPv6 block carries the IPv4 source in bits 32 to 63.
func TestFreeSource(t *testing.T) {
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
		{"no rules", nil, prefixes("192.168.0.0/24"), "198.18.0.0/29", nil},
		{"the lab's own rules", rules("192.168.0.0/24", "192.168.0.3/32", "10.0.0.0/8", "2001:db8::/32"), nil, "198.18.0.0/29", nil},
		{"its /32", rules("198.18.0.1/32"), nil, "198.18.0.8/29", nil},
		{"its second source", rules("198.18.0.3/32"), nil, "198.18.0.8/29", nil},
		{"its /31", rules("198.18.0.0/31"), nil, "198.18.0.8/29", nil},
		{"a rule at its end", rules("198.18.0.7/32"), nil, "198.18.0.8/29", nil},
		{"the first /24", rules("198.18.0.0/24"), nil, "198.18.1.0/29", nil},
		{"an address of the lab there", nil, prefixes("198.18.0.2/32"), "198.18.0.8/29", nil},
		{"a subnet of the lab there", nil, prefixes("198.18.0.0/16"), "198.19.0.0/29", nil},
		{"the whole first range", rules("198.18.0.0/15"), nil, "100.64.0.0/29", nil},
		{"first three ranges", rules("198.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12"), nil, "10.0.0.0/29", nil},
		{"everything", rules("10.0.0.0/8", "0.0.0.0/0"), nil, "invalid Prefix", []string{"0.0.0.0/0"}},
		{"two halves", rules("0.0.0.0/1", "128.0.0.0/1"), nil, "invalid Prefix", []string{"128.0.0.0/1", "0.0.0.0/1"}},
		{"the lab's addresses everywhere", nil, prefixes("0.0.0.0/0"), "invalid Prefix", nil},
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

	s := netip.MustParseAddr("198.18.0.1")
	for _, c := range []struct {
		name, want string
		rules      []Rule
	}{
		{"no rules", "2001:db8:c612:1::/64", nil},
		{"IPv4 rules only", "2001:db8:c612:1::/64", rules("0.0.0.0/0")},
		{"the documentation range", "3fff:fff:c612:1::/64", rules("2001:db8::/32")},
		{"a rule inside the block", "3fff:fff:c612:1::/64", rules("2001:db8:c612:1::3/128")},
		{"every range", "invalid Prefix", rules("::/0")},
	} {
		if got, _ := freeSource6(c.rules, s); got.String() != c.want {
			t.Errorf("%s: freeSource6 = %s, want %s", c.name, got, c.want)
		}
	}

	full := make([]Rule, 16)
	for i := range full {
		full[i] = Rule{Index: uint32(i)}
	}
	for _, c := range []struct {
		rules []Rule
		want  []uint32
	}{
		{rules("10.0.0.0/8", "11.0.0.0/8"), []uint32{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{full, nil},
		{append(full[1:3:3], Rule{Index: 15}), []uint32{0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
	} {
		if got := freeIndices(c.rules, 16); !slices.Equal(got, c.want) {
			t.Errorf("freeIndices(%v) = %v, want %v", indices(c.rules), got, c.want)
		}
	}
}

// rules are the given prefixes as rules 0, 1, 2, ...
func rules(cidrs ...string) []Rule {
	var out []Rule
	for i, c := range cidrs {
		out = append(out, Rule{Index: uint32(i), Prefix: netip.MustParsePrefix(c)})
	}
	return out
}
