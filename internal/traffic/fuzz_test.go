package traffic

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseTarget: whatever --to and the kind are, parsing never panics, and
// an accepted target is IPv4 with a port exactly when the kind needs one.
func FuzzParseTarget(f *testing.F) {
	for _, seed := range [][2]string{
		{"ping", "192.168.0.2"}, {"tcp", "192.168.0.2:8888"}, {"udp", "192.168.0.2:9"},
		{"ping", "::ffff:192.168.0.2"}, {"tcp", "[::1]:80"}, {"udp", "1.2.3.4:0"},
		{"tcp", "1.2.3.4:99999"}, {"ping", ""}, {"nope", "1.2.3.4"}, {"ping", "1.2.3.4%eth0"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, kind, to string) {
		ap, err := parseTarget(kind, to)
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("parseTarget(%q, %q) error %v is not a usage error", kind, to, err)
			}
			if !strings.Contains(err.Error(), "--to") && !strings.Contains(err.Error(), "kind") {
				t.Fatalf("error %q does not name what is wrong", err)
			}
			return
		}
		if !ap.Addr().Is4() {
			t.Fatalf("accepted non-IPv4 %v", ap)
		}
		if (kind == "ping") != (ap.Port() == 0) {
			t.Fatalf("kind %s accepted %v", kind, ap)
		}
	})
}
