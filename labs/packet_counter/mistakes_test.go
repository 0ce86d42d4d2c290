package packetcounter_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/labtest"
)

// TestMistakes: every learner mistake of the suite (testdata/mistakes), at
// least 8 per step, is caught by the expectation its spec names, with a
// hint that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "packet_counter", 8) }

// TestCorrectPrograms: programs written in other styles than the lab's
// (testdata/correct: the legacy maps section, byte offsets, helpers, a
// VLAN-aware parser), at least 2 per step, pass every expectation in both
// modes.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "packet_counter", 2) }
