package icmpdrop

import (
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/attached"
)

// TestJudgeLo: the judgement on the machine's own lo, made on a lo that
// runs the lab's program: node1's, which stands in for the machine's (the
// test never attaches anything to the machine's own). The program graded
// there (same id), the same instructions loaded again (same tag) and a
// program with the text's name each fail, with the hint that says how to
// take it off; a lo without a program passes.
func TestJudgeLo(t *testing.T) {
	_, env := upForTest(t, "")
	node1 := env.Topo.MustNS("node1")
	onLo, ok, err := attached.XDP(node1, "lo")
	if err != nil || !ok {
		t.Fatalf("node1/lo: attached %v, %v", ok, err)
	}
	hint := "Take it off the machine's lo with `sudo ip link set dev lo xdp off`"
	for _, c := range []struct {
		name   string
		graded attached.Program
		pass   bool
	}{
		{"the graded program", onLo, false},
		{"the same instructions", attached.Program{ID: onLo.ID + 1, Tag: onLo.Tag, Name: "other"}, false},
		{"the text's name", attached.Program{ID: onLo.ID + 1, Tag: "00", Name: "other"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := judgeLo(node1, c.graded, "veth1")
			if err != nil {
				t.Fatal(err)
			}
			if res.Pass || !strings.Contains(res.Hint, hint) || !strings.Contains(res.Hint, "node1's veth1 only") || !strings.Contains(res.Observed, "icmp_drop") {
				t.Errorf("judged %+v, want a failure with the hint %q", res, hint)
			}
		})
	}
	// Seen from another lab's lo with nothing on it.
	host := env.Topo.MustNS("host")
	res, err := judgeLo(host, onLo, "lo")
	if err != nil || !res.Pass || res.Observed != "no XDP program" {
		t.Errorf("a lo without a program: %+v, %v", res, err)
	}
}
