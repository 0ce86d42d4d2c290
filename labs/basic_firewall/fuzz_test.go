package basicfirewall

import (
	"testing"
)

// FuzzParseRule: --drop never panics, an accepted rule is a masked prefix
// of a family the firewall has a blacklist for, and it survives the trip
// through its map key.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"192.168.0.0/24", "10.0.0.300/8", "abc", "2001:db8::/32", "192.168.0.7/24",
		"10.1.2.3", " 10.0.0.0/8 ", "0.0.0.0/0", "1.2.3.4/33", "::ffff:1.2.3.4/120", "1.2.3.4/-1", "fe80::1%eth0", "2001:db8::1"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, ipv6 bool) {
		p, err := ParseRule(s, ipv6)
		if err != nil {
			return
		}
		if p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() || (p.Addr().Is6() && !ipv6) {
			t.Fatalf("ParseRule(%q, %v) = %v", s, ipv6, p)
		}
		if p.Addr().Is4() {
			if got := prefixOf(keyOf(p)); got != p {
				t.Fatalf("key round trip of %v gives %v", p, got)
			}
		} else if got := prefix6Of(key6Of(p)); got != p {
			t.Fatalf("key round trip of %v gives %v", p, got)
		}
	})
}
