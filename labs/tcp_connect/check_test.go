package tcpconnect

import "testing"

// TestShowsSwap: the check's ports must change when byte-swapped, or a
// program that swaps dport would pass (33153 is 0x8181).
func TestShowsSwap(t *testing.T) {
	for port, want := range map[int]bool{33153: false, 0x1111: false, 8080: true, 43910: true, 257: false, 258: true} {
		if showsSwap(port) != want {
			t.Errorf("showsSwap(%d) = %v, want %v", port, !want, want)
		}
	}
}

// TestCheckComm: the check's thread name is always 15 bytes, so that a
// name cut short shows, whatever the instance's name.
func TestCheckComm(t *testing.T) {
	for inst, want := range map[string]string{"a": "tc-a-checking-c", "xdplab": "tc-xdplab-check", "t0123456789abcdef": "tc-t0123456789a"} {
		if got := checkComm(inst); got != want {
			t.Errorf("checkComm(%q) = %q, want %q", inst, got, want)
		}
	}
}
