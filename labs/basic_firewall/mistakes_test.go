package basicfirewall_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/labtest"
)

// TestMistakes: every learner mistake of the suite (testdata/mistakes), in
// every exercise, is caught by the expectation its spec names, with a hint
// that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "basic_firewall", 8) }

// TestCorrectPrograms: programs written in other styles than the lab's
// (testdata/correct: the tutorial's legacy maps section, bpf_xdp_load_bytes
// instead of packet pointers, the shared parsing helper) pass every
// exercise in both modes.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "basic_firewall", 2) }
