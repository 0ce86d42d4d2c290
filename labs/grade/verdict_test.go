package grade

import "testing"

// TestVerdicts: what a program returned for a step's frames, as a hint
// says it.
func TestVerdicts(t *testing.T) {
	for _, c := range []struct {
		v       Verdicts
		str     string
		allDrop bool
		notDrop XDPAction
		someNot bool
	}{
		{nil, "no frame", false, XDPDrop, false},
		{Verdicts{XDPDrop, XDPDrop}, "XDP_DROP", true, XDPDrop, false},
		{Verdicts{XDPPass, XDPDrop, XDPPass}, "XDP_DROP for 1, XDP_PASS for 2", false, XDPPass, true},
		{Verdicts{XDPAborted, XDPTx, XDPRedirect}, "XDP_ABORTED for 1, XDP_TX for 1, XDP_REDIRECT for 1", false, XDPAborted, true},
		{Verdicts{XDPAction(7)}, "action 7", false, XDPAction(7), true},
	} {
		if got := c.v.String(); got != c.str {
			t.Errorf("%v: String %q, want %q", []XDPAction(c.v), got, c.str)
		}
		if got := c.v.All(XDPDrop); got != c.allDrop {
			t.Errorf("%v: All(XDP_DROP) %v", []XDPAction(c.v), got)
		}
		if a, ok := c.v.Not(XDPDrop); a != c.notDrop || ok != c.someNot {
			t.Errorf("%v: Not(XDP_DROP) = %s, %v", []XDPAction(c.v), a, ok)
		}
	}
}
