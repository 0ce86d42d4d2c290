package hello

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// counted reads the count of key, 0 when the key is not there.
func counted(m *ebpf.Map, key uint32) (uint64, error) {
	var v uint64
	err := m.Lookup(key, &v)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s[%d]: %w", mapName, key, err)
	}
	return v, nil
}

// countsOf reads the counts of keys.
func countsOf(m *ebpf.Map, keys []uint32) (grade.Counters[uint32], error) {
	c := grade.Counters[uint32]{}
	for _, k := range keys {
		v, err := counted(m, k)
		if err != nil {
			return nil, err
		}
		c[k] = v
	}
	return c, nil
}

// checkCount grades the count step: clones[thread id] grows by one for
// each clone() call of the check's thread, and by nothing for its other
// system calls. The keys 0 and the process's id are read too, to tell
// where a miscounted call went.
func checkCount(env *labs.Env) ([]labs.Result, error) {
	m, err := grade.OpenMap(env, mapName, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var (
		th               grade.Thread
		atClone, atOther grade.Counters[uint32]
	)
	err = grade.OnThread(checkComm, func(t grade.Thread) error {
		th = t
		keys := []uint32{uint32(t.TID), uint32(t.PID), 0}
		before, err := countsOf(m, keys)
		if err != nil {
			return err
		}
		for range clones {
			if err := cloneCall.do(); err != nil {
				return err
			}
		}
		mid, err := countsOf(m, keys)
		if err != nil {
			return err
		}
		for _, c := range otherCalls {
			if err := c.do(); err != nil {
				return err
			}
		}
		after, err := countsOf(m, keys)
		if err != nil {
			return err
		}
		atClone, atOther = mid.Sub(before), after.Sub(mid)
		return nil
	})
	if err != nil {
		return nil, labs.Errorf(labs.ErrEnvironment, "count the check's clone() calls: %w", err)
	}
	tid := uint32(th.TID)
	got := atClone[tid]
	return []labs.Result{
		grade.ExactCount(fmt.Sprintf("%s[%d] counts each of the check's %d clone() calls once (the calling thread's id as key)", mapName, tid, clones),
			uint64(clones), got, countMapHint(th, atClone, atOther)),
		grade.ExactCount(fmt.Sprintf("%s[%d] counts none of its other system calls (%s)", mapName, tid, callNames()),
			0, atOther[tid], otherHint(stepCount)),
	}, nil
}

// countMapHint says where the check's clone() calls were counted, if not
// under the thread's id, or how they were miscounted.
func countMapHint(th grade.Thread, atClone, atOther grade.Counters[uint32]) string {
	tid, pid := uint32(th.TID), uint32(th.PID)
	got := atClone[tid]
	switch {
	case got == clones:
		return ""
	case got == 0 && atClone[pid] >= clones && pid != tid:
		return fmt.Sprintf("the calls were counted under %d, the process's id (the upper 32 bits of bpf_get_current_pid_tgid()): key by the thread's id, the lower 32 bits (TODO 1 in hello.c)", pid)
	case got == 0 && atClone[0] >= clones:
		return "the calls were counted under key 0: key by the calling thread's id, the lower 32 bits of bpf_get_current_pid_tgid() (TODO 1 in hello.c)"
	case got == 0 && atOther[tid] > 0:
		return "your program counted other system calls but not clone(): attach it to SEC(\"tracepoint/" + tracepoint + "\") only"
	case got == 0:
		return "nothing was counted for the thread: key the count by its id (TODO 1 in hello.c) and, when its key is not in the map yet, " +
			"insert it with the count 1 (bpf_map_update_elem with BPF_NOEXIST) (TODO 2 in hello.c)"
	case got == clones-1:
		return "one call short: the first clone() of a thread inserts its key, and that insert must count it: insert 1, not 0 (TODO 2 in hello.c)"
	case got == 1:
		return "only 1 counted: add 1 to the value the lookup returned (__sync_fetch_and_add(count, 1)), not to a copy, and do not overwrite it with 1 (TODO 2 in hello.c)"
	case got%clones == 0:
		return fmt.Sprintf("counted %d times per call: add 1 once per run of the program (TODO 2 in hello.c)", got/clones)
	}
	return fmt.Sprintf("%d counted for %d calls: add 1 per run of the program (TODO 2 in hello.c)", got, clones)
}

// watchCounts prints, once a second, the threads whose clone() calls were
// counted since the last print: "TID 1234: 2 clone() calls".
func watchCounts(ctx context.Context, env *labs.Env, w io.Writer) error {
	last := grade.Counters[uint32]{}
	return labs.Every(ctx, time.Second, func() error {
		c, err := grade.ReadPinned[uint32](env, mapName)
		if err != nil {
			return err
		}
		d := c.Sub(last)
		keys := make([]uint32, 0, len(d))
		for k, v := range d {
			if v > 0 {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "TID %d: %s\n", k, plural(int(d[k]), "clone() call"))
		}
		last = c
		return nil
	})
}
