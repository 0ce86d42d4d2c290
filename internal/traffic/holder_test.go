package traffic

import (
	"net/netip"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"0200A8C0:22B8", "192.168.0.2:8888", true},
		{"00000000:0009", "0.0.0.0:9", true},
		{"0100007F:270F", "127.0.0.1:9999", true},
		{"00000000000000000000000000000000:22B8", "[::]:8888", true},
		{"0000000000000000FFFF00000200A8C0:22B8", "192.168.0.2:8888", true}, // v4-mapped
		{"0200A8C0", "", false},
		{"0200A8:22B8", "", false},
		{"0200A8C0:XYZ", "", false},
	} {
		got, ok := parseProcAddr(tc.in)
		if ok != tc.ok || (ok && got != netip.MustParseAddrPort(tc.want)) {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPortInUseMessage(t *testing.T) {
	e := &PortInUseError{Proto: "tcp", Addr: netip.MustParseAddrPort("192.168.0.2:8888"), NS: "x-packet_counter-node1",
		Holders: []Holder{{PID: 42, Comm: "python3"}}}
	if got, want := e.Error(), "tcp port 8888 in netns x-packet_counter-node1 is taken by pid 42 (python3): stop it and re-run"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	e.Holders = append(e.Holders, Holder{PID: 43, Comm: "nc"})
	if got, want := e.Error(), "tcp port 8888 in netns x-packet_counter-node1 is taken by pid 42 (python3), pid 43 (nc): stop them and re-run"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	e.Holders = nil
	if got, want := e.Error(), "tcp port 8888 in netns x-packet_counter-node1 is taken by a socket that no process holds (one closing?): wait a moment and re-run"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
