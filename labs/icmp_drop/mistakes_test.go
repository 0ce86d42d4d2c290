package icmpdrop_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/labtest"
)

// TestMistakes: every learner mistake of the suite (testdata/mistakes) is
// caught by the expectation its spec names, with a hint that names it; at
// least 8 per step.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "icmp_drop", 8) }

// TestCorrectPrograms: programs written in other styles than the lab's
// (byte offsets, a parse helper, bpf_xdp_load_bytes, bpf_ntohs on the
// field) pass every expectation of their step, in every mode the step has.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "icmp_drop", 2) }
