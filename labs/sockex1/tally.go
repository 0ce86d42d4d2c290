package sockex1

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/labs/grade"
)

// tally is what my_map holds per IP protocol: bytes, and in the packets
// step, whose values are struct pair {long packets; long bytes;}, packets
// too (nil otherwise).
type tally struct {
	packets, bytes grade.Counters[uint32]
}

// pairSize is the size of struct pair: two longs.
const pairSize = 16

// readTally snapshots my_map: counters of 4 or 8 bytes are byte counts
// (grade.ReadCounters), 16-byte values are struct pair.
func readTally(m *ebpf.Map) (tally, error) {
	if m.ValueSize() != pairSize {
		b, err := grade.ReadCounters[uint32](m)
		return tally{bytes: b}, err
	}
	if m.Type() != ebpf.Array && m.Type() != ebpf.Hash {
		return tally{}, fmt.Errorf("read map %s: a %s of struct pair is not what the lab reads (an ARRAY)", mapName, m.Type())
	}
	t := tally{packets: grade.Counters[uint32]{}, bytes: grade.Counters[uint32]{}}
	var (
		key uint32
		val []byte
	)
	it := m.Iterate()
	for it.Next(&key, &val) {
		if p := binary.NativeEndian.Uint64(val[0:]); p != 0 {
			t.packets[key] = p
		}
		if b := binary.NativeEndian.Uint64(val[8:]); b != 0 {
			t.bytes[key] = b
		}
	}
	if err := it.Err(); err != nil {
		return tally{}, fmt.Errorf("read map %s: %w", mapName, err)
	}
	return t, nil
}

// sub is what was counted since before.
func (t tally) sub(before tally) tally {
	return tally{packets: sub(t.packets, before.packets), bytes: t.bytes.Sub(before.bytes)}
}

// add is the sum of two tallies.
func (t tally) add(o tally) tally {
	return tally{packets: add(t.packets, o.packets), bytes: t.bytes.Add(o.bytes)}
}

// except is t without the given keys.
func (t tally) except(keys ...uint32) tally {
	out := tally{bytes: t.bytes.Except(keys...)}
	if t.packets != nil {
		out.packets = t.packets.Except(keys...)
	}
	return out
}

// empty reports whether nothing at all was counted.
func (t tally) empty() bool { return t.bytes.Total() == 0 && t.packets.Total() == 0 }

// sub and add keep a tally without packets without them.
func sub(c, before grade.Counters[uint32]) grade.Counters[uint32] {
	if c == nil {
		return nil
	}
	return c.Sub(before)
}

func add(a, b grade.Counters[uint32]) grade.Counters[uint32] {
	if a == nil && b == nil {
		return nil
	}
	return a.Add(b)
}

// measure reads my_map, runs act, reads it again and returns what act made
// it count. act's own error comes back apart, as grade.Measure does it.
func measure(ctx context.Context, m *ebpf.Map, act func() error) (delta tally, actErr, err error) {
	if err := ctx.Err(); err != nil {
		return tally{}, nil, err
	}
	before, err := readTally(m)
	if err != nil {
		return tally{}, nil, err
	}
	actErr = act()
	after, err := readTally(m)
	if err != nil {
		return tally{}, actErr, err
	}
	return after.sub(before), actErr, nil
}
