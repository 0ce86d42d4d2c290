package sockex1_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/labtest"
)

// TestMistakes: every learner mistake of the suite (testdata/mistakes) is
// caught by the expectation its spec names, with a hint that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "sockex1", 8) }

// TestCorrectPrograms: programs written in other styles than the lab's own
// (testdata/correct) pass every step's check.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "sockex1", 2) }
