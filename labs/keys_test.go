package labs_test

import (
	"encoding/binary"
	"testing"

	"github.com/xdplab/xdplab/labs"
)

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func TestKeyFormats(t *testing.T) {
	for _, c := range []struct {
		format labs.KeyFormat
		key    []byte
		want   string
	}{
		{labs.KeyIPProto, u32(1), "IPPROTO_ICMP"},
		{labs.KeyIPProto, u32(17), "IPPROTO_UDP"},
		{labs.KeyIPProto, u32(200), "IPPROTO_200"},
		{labs.KeyIPProto, []byte{1, 2}, "0102"},
		// {__u32 prefixlen; __be32 addr}, as the kernel holds an LPM key.
		{labs.KeyIPv4Prefix, append(u32(24), 192, 168, 0, 0), "192.168.0.0/24"},
		{labs.KeyIPv4Prefix, append(u32(32), 192, 168, 0, 3), "192.168.0.3/32"},
		{labs.KeyIPv4Prefix, append(u32(40), 10, 0, 0, 0), "10.0.0.0/40"},
		{labs.KeyNumber, u32(7), "7"},
		{labs.KeyNumber, binary.NativeEndian.AppendUint64(nil, 1<<40), "1099511627776"},
		{labs.KeyNumber, []byte{0xab, 0xcd}, "abcd"},
	} {
		if got := c.format(c.key); got != c.want {
			t.Errorf("format(%x) = %q, want %q", c.key, got, c.want)
		}
	}
}
