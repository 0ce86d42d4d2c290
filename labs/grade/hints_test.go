package grade

import "testing"

func TestElsewhere(t *testing.T) {
	for _, c := range []struct {
		d      Counters[uint32]
		found  bool
		wanted uint32
	}{
		{Counters[uint32]{64: 3}, true, 64},            // the TTL read as the protocol
		{Counters[uint32]{0: 2, 9: 3, 64: 3}, true, 9}, // the first in key order
		{Counters[uint32]{1: 3, 64: 4}, false, 0},      // nothing else holds exactly 3
		{Counters[uint32]{}, false, 0},                 // nothing counted at all
		{Counters[uint32]{1: 3}, false, 0},             // the key itself does not count
	} {
		k, ok := c.d.Elsewhere(1, 3)
		if ok != c.found || k != c.wanted {
			t.Errorf("%v.Elsewhere(1, 3) = %d, %v; want %d, %v", c.d, k, ok, c.wanted, c.found)
		}
	}
	byPrefix := Counters[lpmKey]{keyOf("192.168.0.0/24"): 3, keyOf("10.0.0.0/8"): 3}
	if k, ok := byPrefix.Elsewhere(keyOf("192.168.0.3/32"), 3); !ok || k != keyOf("10.0.0.0/8") {
		t.Errorf("struct keys: %v, %v; want the first by name, 10.0.0.0/8", prefixName(k), ok)
	}
}
