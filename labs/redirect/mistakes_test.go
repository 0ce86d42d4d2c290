package redirect_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/labtest"
)

// TestMistakes: every learner mistake of the suite (testdata/mistakes) is
// caught by the expectation its spec names, with a hint that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "redirect", 8) }

// TestCorrectPrograms: programs written in other styles than the lab's
// (testdata/correct) pass every step's check, in both modes.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "redirect", 2) }
