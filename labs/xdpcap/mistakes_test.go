package xdpcap_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/labtest"
)

// TestMistakes: every learner mistake of the suite (testdata/mistakes), at
// least 8 per step, is caught by the expectation its spec names, with a
// hint that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "xdpcap", 8) }

// TestCorrectPrograms: programs written in other styles than the lab's
// own (testdata/correct), at least 2 per step, pass in both modes.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "xdpcap", 2) }
