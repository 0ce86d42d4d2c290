package icmpdrop

import (
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs/grade"
)

// TestAbortedICMPHint: a program that stops only ICMP, but with XDP_ABORTED
// instead of XDP_DROP, fails the protocol sweep with the hint about the
// action, never "drops protocol none".
func TestAbortedICMPHint(t *testing.T) {
	for step, ex := range exercises {
		var v verdicts
		for n := range 256 {
			v.protocols[n], v.types[n] = grade.XDPPass, ex.wantType(n)
		}
		for k := range v.of {
			v.of[k] = ex.want(kind(k))
		}
		v.protocols[packet.ProtoICMPv4] = grade.XDPAborted
		v.of[request], v.of[optioned] = grade.XDPAborted, grade.XDPAborted
		if !ex.requestsOnly {
			v.of[reply], v.of[unreachable] = grade.XDPAborted, grade.XDPAborted
		}
		results := ex.verdictResults(&v, nil, diagnose(ex, &v))
		proto := results[1]
		if proto.Pass {
			t.Fatalf("step %q: the protocol sweep passed with ICMP aborted: %+v", step, proto)
		}
		if strings.Contains(proto.Hint, "none") || !strings.Contains(proto.Hint, "XDP_ABORTED") {
			t.Errorf("step %q: protocol sweep hint %q, want the XDP_ABORTED hint", step, proto.Hint)
		}
	}
}
