package grade

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

// lpmKey is basic_firewall's blacklist key.
type lpmKey struct {
	Prefixlen uint32
	Addr      uint32 // network byte order in memory
}

func keyOf(p string) lpmKey {
	pf := netip.MustParsePrefix(p)
	a := pf.Addr().As4()
	return lpmKey{Prefixlen: uint32(pf.Bits()), Addr: binary.NativeEndian.Uint32(a[:])}
}

func prefixName(k lpmKey) string {
	var a [4]byte
	binary.NativeEndian.PutUint32(a[:], k.Addr)
	return fmt.Sprintf("%s/%d", netip.AddrFrom4(a), k.Prefixlen)
}

func protoName(p uint32) string {
	if n, ok := map[uint32]string{1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP"}[p]; ok {
		return n
	}
	return fmt.Sprintf("IPPROTO_%d", p)
}

func TestSub(t *testing.T) {
	before := Counters[uint32]{1: 3, 6: 10, 17: 5, 50: 7}
	after := Counters[uint32]{1: 6, 6: 10, 17: 2, 58: 1}
	// 1 grew, 6 did not move, 17 was reset and counted 2 since, 50 is
	// gone (an evicted entry counts nothing), 58 is new.
	want := Counters[uint32]{1: 3, 17: 2, 58: 1}
	if got := after.Sub(before); !reflect.DeepEqual(got, want) {
		t.Errorf("Sub = %v, want %v", got, want)
	}
}

func TestSelect(t *testing.T) {
	d := Counters[uint32]{1: 3, 6: 4, 17: 5}
	if got, want := d.Except(1, 17), (Counters[uint32]{6: 4}); !reflect.DeepEqual(got, want) {
		t.Errorf("Except(1, 17) = %v, want %v", got, want)
	}
	if got, want := d.Only(1, 17, 58), (Counters[uint32]{1: 3, 17: 5}); !reflect.DeepEqual(got, want) {
		t.Errorf("Only(1, 17, 58) = %v, want %v", got, want)
	}
	if got, want := d.Add(Counters[uint32]{6: 1, 58: 2}), (Counters[uint32]{1: 3, 6: 5, 17: 5, 58: 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("Add = %v, want %v", got, want)
	}
	if d.Total() != 12 {
		t.Errorf("Total = %d, want 12", d.Total())
	}
	if len(d) != 3 {
		t.Errorf("the selections changed the counters: %v", d)
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"u32 keys in key order", Counters[uint32]{17: 5, 6: 6, 1: 3, 132: 1}.Format(protoName),
			"IPPROTO_ICMP +3, IPPROTO_TCP +6, IPPROTO_UDP +5, IPPROTO_132 +1"},
		{"no names", Counters[uint32]{10: 1, 2: 4}.Format(nil), "2 +4, 10 +1"},
		{"empty", Counters[uint32]{}.Format(protoName), "none"},
		{"zero counters are not shown", Counters[uint32]{1: 0}.Format(protoName), "none"},
		{"struct keys by name, numbers by value", Counters[lpmKey]{
			keyOf("192.168.10.0/24"): 3, keyOf("192.168.0.0/24"): 2, keyOf("10.0.0.0/8"): 1, keyOf("192.168.0.3/32"): 4,
		}.Format(prefixName), "10.0.0.0/8 +1, 192.168.0.0/24 +2, 192.168.0.3/32 +4, 192.168.10.0/24 +3"},
		{"string keys", Counters[string]{"matches[10]": 1, "matches[2]": 2}.Format(nil), "matches[2] +2, matches[10] +1"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %q\nwant %q", c.name, c.got, c.want)
		}
	}
}

func TestEntries(t *testing.T) {
	got := Counters[uint32]{6: 6, 1: 3}.Entries(protoName)
	want := []Entry[uint32]{{1, "IPPROTO_ICMP", 3}, {6, "IPPROTO_TCP", 6}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Entries = %v, want %v", got, want)
	}
}

func TestNaturalCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"a2", "a10", -1},
		{"a10", "a2", 1},
		{"a02", "a2", 0},
		{"10.0.0.0/8", "192.168.0.0/24", -1},
		{"192.168.0.0/24", "192.168.0.0/8", 1},
		{"IPPROTO_TCP", "IPPROTO_UDP", -1},
		{"x", "x1", -1},
		{"", "", 0},
	} {
		if got := naturalCompare(c.a, c.b); got != c.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
