package capture

import (
	"time"

	"golang.org/x/sys/unix"
)

// clock turns bpf_ktime_get_ns values (CLOCK_MONOTONIC) into wall time with
// an offset measured once at start, as the kernel has no wall clock helper
// that is cheap and allowed in XDP.
type clock struct{ offset int64 }

func newClock() clock {
	// Read the monotonic clock between two wall clock reads and keep the
	// tightest of a few tries: the offset is then off by at most half that
	// window (well under a microsecond).
	best, bestWindow := int64(0), int64(-1)
	for range 5 {
		var r1, m, r2 unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &r1)
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
		unix.ClockGettime(unix.CLOCK_REALTIME, &r2)
		window := r2.Nano() - r1.Nano()
		if bestWindow < 0 || window < bestWindow {
			best, bestWindow = r1.Nano()+window/2-m.Nano(), window
		}
	}
	return clock{offset: best}
}

func (c clock) wall(ktime uint64) time.Time { return time.Unix(0, int64(ktime)+c.offset) }

// monotonicNow is CLOCK_MONOTONIC now, in nanoseconds: what
// bpf_ktime_get_ns would return.
func monotonicNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
