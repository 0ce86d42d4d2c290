package labs

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/topology"
)

// MapStatus is a pinned map with its entries (of an array, the non-zero
// ones).
type MapStatus struct {
	Name    string      `json:"name"`
	Type    string      `json:"type"`
	Entries [][2]string `json:"entries"`
	More    int         `json:"more,omitempty"`
}

const maxEntries = 16

// mapView says how status writes a lab's maps: the key format of each map
// the lab names (Info.Keys), and the interface name of an ifindex, for
// DEVMAPs.
type mapView struct {
	keys map[string]KeyFormat
	// ifname names an ifindex of the lab's namespace, "" when it names none.
	ifname func(ifindex uint32) string
}

// mapViewOf is the view of a lab that is up. DEVMAP ifindexes are those of
// the namespace its first XDP program runs in: a program redirects to the
// interfaces of its own namespace.
func mapViewOf(info Info, dep *topology.Deployed) mapView {
	v := mapView{keys: info.Keys}
	for _, a := range info.Attach {
		if a.Hook != HookXDP {
			continue
		}
		if ns, err := dep.NS(a.Node); err == nil {
			v.ifname = func(ifindex uint32) string {
				l, err := ns.Netlink().LinkByIndex(int(ifindex))
				if err != nil {
					return ""
				}
				return l.Attrs().Name
			}
		}
		break
	}
	return v
}

func pinnedMaps(dir string, view mapView) []MapStatus {
	entries, _ := os.ReadDir(dir)
	var out []MapStatus
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "link_") || e.IsDir() {
			continue
		}
		m, err := ebpf.LoadPinnedMap(filepath.Join(dir, e.Name()), &ebpf.LoadPinOptions{ReadOnly: true})
		if err != nil {
			continue // not a map (a pinned program, say)
		}
		out = append(out, view.dump(e.Name(), m))
		m.Close()
	}
	return out
}

// dump renders a map's entries (of an array, the non-zero ones): keys as the lab's Info.Keys say
// (numbers or hex otherwise), u64 values as numbers (per-CPU values summed),
// DEVMAP values as the ifindex they redirect to, with its name.
func (v mapView) dump(name string, m *ebpf.Map) MapStatus {
	ms := MapStatus{Name: name, Type: m.Type().String()}
	switch m.Type() {
	case ebpf.PerfEventArray, ebpf.ProgramArray, ebpf.RingBuf:
		return ms // their values are fds or events, not data
	}
	keyFormat := v.keys[name]
	devmap := m.Type() == ebpf.DevMap || m.Type() == ebpf.DevMapHash
	if keyFormat == nil {
		keyFormat = KeyNumber
		if devmap {
			keyFormat = func(key []byte) string { return v.ifindex(key) }
		}
	}
	// Every slot of an array exists: only the non-zero ones say something.
	// An entry of a hash or a trie is there because someone put it there,
	// zero or not (basic_firewall's rule 0).
	array := m.Type() == ebpf.Array || m.Type() == ebpf.PerCPUArray || m.Type() == ebpf.DevMap
	it := m.Iterate()
	key := make([]byte, m.KeySize())
	var val any
	perCPU := m.Type() == ebpf.PerCPUArray || m.Type() == ebpf.PerCPUHash || m.Type() == ebpf.LRUCPUHash
	var single []byte
	var multi [][]byte
	if perCPU {
		val = &multi
	} else {
		val = &single
	}
	for it.Next(&key, val) {
		var s string
		zero := true
		switch {
		case perCPU:
			var sum uint64
			for _, b := range multi {
				if len(b) == 8 {
					sum += binary.NativeEndian.Uint64(b)
				} else if !allZero(b) {
					zero = false
				}
			}
			if sum != 0 {
				zero = false
			}
			s = fmt.Sprint(sum)
		case devmap:
			zero = allZero(single)
			s = v.devmapValue(single)
		default:
			zero = allZero(single)
			s = numOrHex(single)
		}
		if zero && array {
			continue
		}
		if len(ms.Entries) >= maxEntries {
			ms.More++
			continue
		}
		ms.Entries = append(ms.Entries, [2]string{keyFormat(key), s})
	}
	return ms
}

// ifindex writes a 4-byte ifindex with the interface it names: "3 (veth2)".
func (v mapView) ifindex(b []byte) string {
	if len(b) != 4 {
		return numOrHex(b)
	}
	idx := binary.NativeEndian.Uint32(b)
	if v.ifname != nil {
		if n := v.ifname(idx); n != "" {
			return fmt.Sprintf("%d (%s)", idx, n)
		}
	}
	return fmt.Sprint(idx)
}

// devmapValue is the egress ifindex of a DEVMAP entry, a bare __u32 or
// struct bpf_devmap_val, whose second field is the id of a program run on
// the redirected frame.
func (v mapView) devmapValue(b []byte) string {
	if len(b) < 4 {
		return numOrHex(b)
	}
	s := v.ifindex(b[:4])
	if len(b) == 8 {
		if prog := binary.NativeEndian.Uint32(b[4:]); prog != 0 {
			s += fmt.Sprintf(" prog id %d", prog)
		}
	}
	return s
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
