// Package attached finds the BPF programs someone else attached inside a
// namespace (an XDP program on an interface, a socket filter on a packet
// socket) and opens their maps by name.
package attached

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/namespace"
)

// Program is a program found where a lab expects one.
type Program struct {
	ID   ebpf.ProgramID `json:"id"`
	Name string         `json:"name"`
	Tag  string         `json:"tag"`
	// Mode is how an XDP program is attached ("generic", "native"); ""
	// for a socket filter.
	Mode string `json:"mode,omitempty"`
	// PID is the process that runs a socket filter on its socket; 0 for
	// an XDP program, which the interface holds.
	PID int `json:"pid,omitempty"`
	// Maps are the names of the maps the program uses, as the kernel
	// keeps them.
	Maps []string `json:"maps"`
}

// String is "packet_count id 42 (generic mode)" or "bpf_prog1 id 7 (pid 312)".
func (p Program) String() string {
	name := p.Name
	if name == "" {
		name = "(no name)"
	}
	s := fmt.Sprintf("%s id %d", name, p.ID)
	switch {
	case p.Mode != "":
		s += " (" + p.Mode + " mode)"
	case p.PID != 0:
		s += fmt.Sprintf(" (pid %d)", p.PID)
	}
	return s
}

// HasMap reports whether the program uses a map called name.
func (p Program) HasMap(name string) bool {
	return slices.Contains(p.Maps, KernelName(name))
}

// KernelName is name as the kernel keeps it: object names are cut to 15
// bytes (BPF_OBJ_NAME_LEN with its NUL).
func KernelName(name string) string {
	const max = 15
	if len(name) > max {
		return name[:max]
	}
	return name
}

// ErrGone is returned when a program found a moment ago is no longer
// loaded: it was detached and its last holder closed it.
var ErrGone = errors.New("program is gone")

// describe reads what Program says about the program with that id.
func describe(id ebpf.ProgramID) (Program, error) {
	prog, err := ebpf.NewProgramFromID(id)
	if errors.Is(err, os.ErrNotExist) {
		return Program{}, fmt.Errorf("program %d: %w", id, ErrGone)
	}
	if err != nil {
		return Program{}, fmt.Errorf("open program %d: %w", id, err)
	}
	defer prog.Close()
	return describeOpen(prog, id)
}

func describeOpen(prog *ebpf.Program, id ebpf.ProgramID) (Program, error) {
	info, err := prog.Info()
	if err != nil {
		return Program{}, fmt.Errorf("inspect program %d: %w", id, err)
	}
	maps, names := programMaps(info)
	for _, m := range maps {
		m.Close()
	}
	return Program{ID: id, Name: info.Name, Tag: info.Tag, Maps: names}, nil
}

// programMaps opens the maps a program uses and reads their names. The
// caller closes the maps.
func programMaps(info *ebpf.ProgramInfo) (maps []*ebpf.Map, names []string) {
	names = []string{}
	ids, _ := info.MapIDs()
	for _, id := range ids {
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue // freed since: the program cannot use it any more either
		}
		mi, err := m.Info()
		if err != nil {
			m.Close()
			continue
		}
		maps, names = append(maps, m), append(names, mi.Name)
	}
	return maps, names
}

// Map opens the map called name among the maps of the program with that
// id. A program without one gets an error that wraps os.ErrNotExist and
// names the maps it has.
func Map(id ebpf.ProgramID, name string) (*ebpf.Map, error) {
	prog, err := ebpf.NewProgramFromID(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("program %d: %w", id, ErrGone)
	}
	if err != nil {
		return nil, fmt.Errorf("open program %d: %w", id, err)
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		return nil, fmt.Errorf("inspect program %d: %w", id, err)
	}
	maps, have := programMaps(info)
	var found *ebpf.Map
	for i, m := range maps {
		if found == nil && have[i] == KernelName(name) {
			found = m
			continue
		}
		m.Close()
	}
	if found != nil {
		return found, nil
	}
	list := "none"
	if len(have) > 0 {
		list = strings.Join(have, ", ")
	}
	return nil, fmt.Errorf("program %s (id %d) has no map named %s (its maps: %s): %w", info.Name, id, name, list, os.ErrNotExist)
}

// XDP returns the XDP program attached to iface in ns; ok is false when
// there is none.
func XDP(ns *namespace.NS, iface string) (p Program, ok bool, err error) {
	l, err := ns.Netlink().LinkByName(iface)
	if err != nil {
		return Program{}, false, fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
	}
	x := l.Attrs().Xdp
	if x == nil || x.ProgId == 0 {
		return Program{}, false, nil
	}
	p, err = describe(ebpf.ProgramID(x.ProgId))
	if errors.Is(err, ErrGone) {
		return Program{}, false, nil // detached while we looked
	}
	if err != nil {
		return Program{}, false, err
	}
	p.Mode = XDPMode(x.AttachMode)
	return p, true, nil
}

// XDPMode names the kernel's XDP_ATTACHED_* value.
func XDPMode(m uint32) string {
	switch m {
	case 1:
		return "native"
	case 2:
		return "generic"
	case 3:
		return "offload"
	case 4:
		return "multi"
	}
	return fmt.Sprint(m)
}
