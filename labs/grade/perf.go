package grade

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/perf"

	"github.com/xdplab/xdplab/labs"
)

// OpenPerf puts a ring of pages pages per CPU into the lab's pinned perf
// event array name. Only one reader gets the events: a second one (check
// while watch runs) takes the array's slots over.
func OpenPerf(env *labs.Env, name string, pages int) (*perf.Reader, error) {
	// The reader writes its rings into the map's slots.
	m, err := OpenMap(env, name, false)
	if err != nil {
		return nil, err
	}
	defer m.Close() // the reader holds its own copy
	rd, err := perf.NewReader(m, pages*os.Getpagesize())
	if err != nil {
		return nil, labs.Errorf(labs.ErrEnvironment, "open perf reader on %s: %w", name, err)
	}
	return rd, nil
}

// Drain hands fn every sample already in the reader's rings, and returns
// how many the kernel lost for want of room. A tracing program writes its
// sample before the traced call returns, so what a check did is in the
// rings once it is done; the machine's other activity keeps adding more,
// so waiting for the rings to go quiet could last forever.
func Drain(rd *perf.Reader, fn func(cpu int, raw []byte)) (lost uint64, err error) {
	for {
		rd.SetDeadline(time.Now())
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return lost, nil
		}
		if err != nil {
			return lost, fmt.Errorf("read perf events: %w", err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			continue
		}
		fn(rec.CPU, rec.RawSample)
	}
}
