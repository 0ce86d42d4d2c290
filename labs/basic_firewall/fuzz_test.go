package basicfirewall

import (
	"testing"
)

// FuzzParseRule: --drop never panics, and an accepted rule is a masked IPv4
// prefix that survives the trip through the map key.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"192.168.0.0/24", "10.0.0.300/8", "abc", "2001:db8::/32", "192.168.0.7/24",
		"10.1.2.3", " 10.0.0.0/8 ", "0.0.0.0/0", "1.2.3.4/33", "::ffff:1.2.3.4/120", "1.2.3.4/-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseRule(s)
		if err != nil {
			return
		}
		if !p.Addr().Is4() || p != p.Masked() || p.Bits() < 0 || p.Bits() > 32 {
			t.Fatalf("ParseRule(%q) = %v", s, p)
		}
		if got := prefixOf(keyOf(p)); got != p {
			t.Fatalf("key round trip of %v gives %v", p, got)
		}
	})
}
