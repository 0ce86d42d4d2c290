package labs

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
)

// KeyFormat writes a map key, as the kernel holds its bytes, the way the
// lab's tutorial names it. A lab's Info.Keys choose one per map; status and
// watch use them.
type KeyFormat func(key []byte) string

// KeyNumber writes a 4- or 8-byte key as an unsigned number, anything else
// as hex: what status shows for a map the lab says nothing about.
func KeyNumber(key []byte) string { return numOrHex(key) }

// KeyIPProto writes an IP protocol number key (4 bytes) by its kernel name:
// IPPROTO_ICMP.
func KeyIPProto(key []byte) string {
	if len(key) != 4 {
		return numOrHex(key)
	}
	return IPProtoName(binary.NativeEndian.Uint32(key))
}

// KeyIPv4Prefix writes an LPM trie key {__u32 prefixlen; __be32 addr} as
// the prefix people write: 192.168.0.0/24.
func KeyIPv4Prefix(key []byte) string {
	if len(key) != 8 {
		return numOrHex(key)
	}
	bits := binary.NativeEndian.Uint32(key)
	addr := netip.AddrFrom4([4]byte(key[4:8]))
	if bits > 32 {
		return fmt.Sprintf("%s/%d", addr, bits) // not a prefix the kernel would match, shown as it is
	}
	return netip.PrefixFrom(addr, int(bits)).String()
}

var ipProtoNames = map[uint32]string{
	0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 2: "IPPROTO_IGMP", 4: "IPPROTO_IPIP", 6: "IPPROTO_TCP",
	17: "IPPROTO_UDP", 41: "IPPROTO_IPV6", 47: "IPPROTO_GRE", 50: "IPPROTO_ESP", 51: "IPPROTO_AH",
	58: "IPPROTO_ICMPV6", 103: "IPPROTO_PIM", 132: "IPPROTO_SCTP", 136: "IPPROTO_UDPLITE",
	255: "IPPROTO_RAW",
}

// IPProtoName is the kernel's IPPROTO_* name of a protocol number, or
// IPPROTO_<n> for one without a name.
func IPProtoName(p uint32) string {
	if n, ok := ipProtoNames[p]; ok {
		return n
	}
	return fmt.Sprintf("IPPROTO_%d", p)
}

func numOrHex(b []byte) string {
	switch len(b) {
	case 4:
		return fmt.Sprint(binary.NativeEndian.Uint32(b))
	case 8:
		return fmt.Sprint(binary.NativeEndian.Uint64(b))
	}
	return hex.EncodeToString(b)
}
