package packetcounter_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/labtest"
)

// TestMistakes: every learner mistake of the suite (testdata/mistakes) is
// caught by the expectation its spec names, with a hint that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "packet_counter", 0) }
