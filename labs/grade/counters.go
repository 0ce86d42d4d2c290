// Package grade is the vocabulary lab checks are written in: pinned maps, counter snapshots and deltas, traffic steps with one arrival timeout, and builders of expectation results.
package grade

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/labs"
)

// OpenMap opens a map the lab pinned under its pin directory. A pin that is
// missing or unreadable is damage done to the lab since up, never a fault
// of the learner's program: the error is a labs.ErrEnvironment that names
// the pin and the commands that rebuild the lab, and it wraps the cause
// (errors.Is(err, os.ErrNotExist) for a missing pin).
//
// In a bare lab nothing is pinned: the map is the one called name among
// the maps of the learner's attached program (labs.Attached.Map), opened
// read-write, as a map from its id always is.
func OpenMap(env *labs.Env, name string, readOnly bool) (*ebpf.Map, error) {
	if env.Attached != nil {
		return env.Attached.Map(name)
	}
	path := env.Pin(name)
	m, err := ebpf.LoadPinnedMap(path, &ebpf.LoadPinOptions{ReadOnly: readOnly})
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, labs.Errorf(labs.ErrEnvironment, "pin %s (map %s) is gone: %s (%w)", path, name, env.RebuildFix(), err)
	case err != nil:
		return nil, labs.Errorf(labs.ErrEnvironment, "open pinned map %s (%s): %w: %s", name, path, err, env.RebuildFix())
	}
	return m, nil
}

// Counters are the non-zero counters of a map by key, each summed over the
// CPUs for a per-CPU map. A key that is absent counts 0.
type Counters[K comparable] map[K]uint64

// ReadCounters snapshots a map of u64 or u32 counters: an ARRAY, HASH or
// LRU_HASH, or their per-CPU kinds. K is the key as the program declares
// it (uint32, or a struct of fixed-size fields such as {prefixlen, addr}),
// decoded in the machine's byte order as cilium/ebpf decodes keys.
func ReadCounters[K comparable](m *ebpf.Map) (Counters[K], error) {
	name := mapName(m)
	var key K
	switch n := binary.Size(key); {
	case n < 0:
		return nil, fmt.Errorf("read map %s: %T has no fixed size to decode its keys into", name, key)
	case n != int(m.KeySize()):
		return nil, fmt.Errorf("read map %s: its keys are %d bytes, %T is %d", name, m.KeySize(), key, n)
	}
	perCPU := false
	switch m.Type() {
	case ebpf.Array, ebpf.Hash, ebpf.LRUHash:
	case ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash:
		perCPU = true
	default:
		return nil, fmt.Errorf("read map %s: a %s holds no counters", name, m.Type())
	}
	if vs := m.ValueSize(); vs != 4 && vs != 8 {
		return nil, fmt.Errorf("read map %s: its values are %d bytes, not a u32 or u64 counter", name, vs)
	}
	out := Counters[K]{}
	var (
		single []byte
		multi  [][]byte
		val    any = &single
	)
	if perCPU {
		val = &multi
	}
	it := m.Iterate()
	for it.Next(&key, val) {
		var sum uint64
		if perCPU {
			for _, v := range multi {
				sum += counter(v)
			}
		} else {
			sum = counter(single)
		}
		if sum != 0 {
			out[key] = sum
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read map %s: %w", name, err)
	}
	return out, nil
}

// counter reads a u32 or u64 in the machine's byte order.
func counter(b []byte) uint64 {
	if len(b) == 4 {
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return binary.NativeEndian.Uint64(b)
}

// mapName is the map's name as the kernel has it, for error messages.
func mapName(m *ebpf.Map) string {
	if info, err := m.Info(); err == nil && info.Name != "" {
		return info.Name
	}
	return m.String()
}

// Measure reads the counters of m, runs act, reads them again and returns
// what act made them count. act's own error comes back apart from the
// error of reading the map: a step that failed is evidence for the
// expectations (the program dropped a packet), while a map that cannot be
// read means the check could not run.
func Measure[K comparable](ctx context.Context, m *ebpf.Map, act func() error) (delta Counters[K], actErr, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	before, err := ReadCounters[K](m)
	if err != nil {
		return nil, nil, err
	}
	actErr = act()
	after, err := ReadCounters[K](m)
	if err != nil {
		return nil, actErr, err
	}
	return after.Sub(before), actErr, nil
}

// Sub is what was counted since before. A counter that went down was reset
// meanwhile (or its entry evicted and made again): what it holds now is
// what it counted since.
func (c Counters[K]) Sub(before Counters[K]) Counters[K] {
	d := Counters[K]{}
	for k, v := range c {
		switch b := before[k]; {
		case v > b:
			d[k] = v - b
		case v < b:
			d[k] = v
		}
	}
	return d
}

// Add is the sum of two sets of counters, e.g. deltas of several steps.
func (c Counters[K]) Add(o Counters[K]) Counters[K] {
	s := Counters[K]{}
	for k, v := range c {
		s[k] += v
	}
	for k, v := range o {
		s[k] += v
	}
	return s
}

// Except is c without the given keys.
func (c Counters[K]) Except(keys ...K) Counters[K] {
	out := Counters[K]{}
	for k, v := range c {
		if !slices.Contains(keys, k) && v != 0 {
			out[k] = v
		}
	}
	return out
}

// Only is c with the given keys alone.
func (c Counters[K]) Only(keys ...K) Counters[K] {
	out := Counters[K]{}
	for _, k := range keys {
		if v := c[k]; v != 0 {
			out[k] = v
		}
	}
	return out
}

// Total is the sum of all counters.
func (c Counters[K]) Total() uint64 {
	var t uint64
	for _, v := range c {
		t += v
	}
	return t
}

// Entry is one counter with its key's name.
type Entry[K comparable] struct {
	Key   K
	Name  string
	Value uint64
}

// Entries lists the non-zero counters with their keys named by name
// (fmt.Sprint when nil), in key order for integer keys and otherwise in
// the order of the names, numbers in them compared by value.
func (c Counters[K]) Entries(name func(K) string) []Entry[K] {
	if name == nil {
		name = func(k K) string { return fmt.Sprint(k) }
	}
	out := make([]Entry[K], 0, len(c))
	for k, v := range c {
		if v != 0 {
			out = append(out, Entry[K]{Key: k, Name: name(k), Value: v})
		}
	}
	slices.SortFunc(out, func(a, b Entry[K]) int {
		if n := compareKeys(a.Key, b.Key); n != 0 {
			return n
		}
		return naturalCompare(a.Name, b.Name)
	})
	return out
}

// Format renders a delta as a check shows it: "IPPROTO_TCP +6, IPPROTO_UDP
// +5" in the order of Entries, or "none".
func (c Counters[K]) Format(name func(K) string) string {
	entries := c.Entries(name)
	if len(entries) == 0 {
		return "none"
	}
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = fmt.Sprintf("%s +%d", e.Name, e.Value)
	}
	return strings.Join(parts, ", ")
}

// compareKeys orders integer keys by value; other keys compare equal, to
// be ordered by name.
func compareKeys[K comparable](a, b K) int {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	switch {
	case va.CanUint():
		return cmpOrdered(va.Uint(), vb.Uint())
	case va.CanInt():
		return cmpOrdered(va.Int(), vb.Int())
	}
	return 0
}

func cmpOrdered[T int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// naturalCompare compares strings with runs of digits compared as numbers,
// so matches[2] comes before matches[10] and 10.0.0.0/8 before
// 192.168.0.0/24.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if n := cmpOrdered(int64(len(na)), int64(len(nb))); n != 0 {
				return n
			}
			if n := strings.Compare(na, nb); n != 0 {
				return n
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmpOrdered(int64(a[0]), int64(b[0]))
		}
		a, b = a[1:], b[1:]
	}
	return cmpOrdered(int64(len(a)), int64(len(b)))
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
