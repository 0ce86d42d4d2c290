package redirect

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// The check changes the lab for a moment three times: it swaps xdp_pass
// into node1's links (the network without the program), empties if_redirect
// (a program that reflects without the DEVMAP shows itself), and deletes
// node1's neighbour entry for the host (the lookup answers NO_NEIGH). Each
// phase takes its change back when it ends; the undo record, written before
// the first change, holds everything needed to take them all back after a
// kill, as data read before anything changed.

// undoKind names the check's undo record.
const undoKind = "check"

// checkChange is what the check changes for a while, as its undo record
// holds it.
type checkChange struct {
	// Swapped is whether xdp_pass goes into node1's pinned links (never in
	// a bare lab, whose attachment is the learner's).
	Swapped bool `json:"swapped"`
	// Devmap is if_redirect as it was, emptied for a while. DevmapWhy,
	// when set, says why it is left alone.
	Devmap    []devmapEntry `json:"devmap"`
	DevmapWhy string        `json:"devmap_why,omitempty"`
	// Neighbour is node1's entry for the host on veth1 as it was, deleted
	// for a while; nil when there was none.
	Neighbour *neighbour `json:"neighbour,omitempty"`
}

// devmapEntry is one key of if_redirect and its value as the map held it.
type devmapEntry struct {
	Key   uint32 `json:"key"`
	Value []byte `json:"value"`
}

// neighbour is a neighbour entry of node1.
type neighbour struct {
	Iface string     `json:"iface"`
	IP    netip.Addr `json:"ip"`
	MAC   string     `json:"mac"`
	State int        `json:"state"`
}

// plan reads what the check's changes will touch, before any is made.
func plan(env *labs.Env) (checkChange, error) {
	ch := checkChange{Swapped: !env.Options.Bare}
	entries, why, err := readDevmap(env)
	if err != nil {
		return ch, err
	}
	ch.Devmap, ch.DevmapWhy = entries, why
	ch.Neighbour, err = findNeighbour(env.Topo.MustRole("dut"), env.Topo.MustRole("sender").Addr.Addr())
	return ch, err
}

// readDevmap lists if_redirect's entries. A value that carries a program
// (struct bpf_devmap_val with a program id) cannot be written back as read,
// since an update takes a program fd: then the map is left alone, and why
// says so.
func readDevmap(env *labs.Env) (entries []devmapEntry, why string, err error) {
	m, err := grade.OpenMap(env, mapRedirect, true)
	if err != nil {
		return nil, "", err
	}
	defer m.Close()
	var key uint32
	val := make([]byte, m.ValueSize())
	it := m.Iterate()
	for it.Next(&key, &val) {
		entries = append(entries, devmapEntry{Key: key, Value: append([]byte(nil), val...)})
		if len(val) == 8 && binary.NativeEndian.Uint32(val[4:]) != 0 {
			why = fmt.Sprintf("%s[%d] runs a program of its own (struct bpf_devmap_val), which the check could not put back as it was", mapRedirect, key)
		}
	}
	if err := it.Err(); err != nil {
		return nil, "", fmt.Errorf("read %s: %w", mapRedirect, err)
	}
	return entries, why, nil
}

// setDevmap empties if_redirect (nil) or writes entries back into it, from
// inside node1's namespace, where their ifindex values mean node1's
// interfaces. Entries already as they should be are no error.
func setDevmap(env *labs.Env, entries []devmapEntry, empty bool) error {
	m, err := grade.OpenMap(env, mapRedirect, false)
	if err != nil {
		return err
	}
	defer m.Close()
	return env.Topo.MustNS("node1").Do(func() error {
		for _, e := range entries {
			if empty {
				if err := m.Delete(e.Key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
					return fmt.Errorf("empty %s: delete key %d: %w", mapRedirect, e.Key, err)
				}
				continue
			}
			if err := m.Update(e.Key, e.Value, ebpf.UpdateAny); err != nil {
				return fmt.Errorf("restore %s[%d]: %w", mapRedirect, e.Key, err)
			}
		}
		return nil
	})
}

// findNeighbour returns at's entry for ip, nil when it has none.
func findNeighbour(at topology.Place, ip netip.Addr) (*neighbour, error) {
	h := at.NS.Netlink()
	l, err := h.LinkByName(at.Iface)
	if err != nil {
		return nil, fmt.Errorf("find %s/%s: %w", at.Node, at.Iface, err)
	}
	list, err := h.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("neighbours of %s/%s: %w", at.Node, at.Iface, err)
	}
	for _, n := range list {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == ip && len(n.HardwareAddr) == 6 {
			return &neighbour{Iface: at.Iface, IP: ip, MAC: n.HardwareAddr.String(), State: n.State}, nil
		}
	}
	return nil, nil
}

// netlinkNeigh is the entry as netlink takes it.
func (n *neighbour) netlinkNeigh(h *netlink.Handle) (*netlink.Neigh, error) {
	l, err := h.LinkByName(n.Iface)
	if err != nil {
		return nil, err
	}
	mac, err := net.ParseMAC(n.MAC)
	if err != nil {
		return nil, err
	}
	return &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: unix.AF_INET, State: n.State, IP: n.IP.AsSlice(), HardwareAddr: mac}, nil
}

// delete removes the entry from node1; one already gone is no error.
func (n *neighbour) delete(env *labs.Env) error {
	h := env.Topo.MustNS("node1").Netlink()
	nb, err := n.netlinkNeigh(h)
	if err != nil {
		return fmt.Errorf("node1's neighbour %s: %w", n.IP, err)
	}
	if err := h.NeighDel(nb); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete node1's neighbour %s on %s: %w", n.IP, n.Iface, err)
	}
	return nil
}

// restore puts the entry back as it was.
func (n *neighbour) restore(env *labs.Env) error {
	h := env.Topo.MustNS("node1").Netlink()
	nb, err := n.netlinkNeigh(h)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil // gone with its interface
	}
	if err != nil {
		return fmt.Errorf("node1's neighbour %s: %w", n.IP, err)
	}
	if err := h.NeighSet(nb); err != nil {
		return fmt.Errorf("restore node1's neighbour %s on %s: %w", n.IP, n.Iface, err)
	}
	return nil
}

// Undo takes the check's changes back, in any state a kill left them:
// xdp_test back into node1's links, if_redirect's entries, node1's
// neighbour entry. Whatever is gone (with its pin or namespace) or was never
// changed counts as taken back.
func (*Lab) Undo(env *labs.Env, rec labs.UndoRecord) error {
	var ch checkChange
	if err := json.Unmarshal(rec.Data, &ch); err != nil {
		return fmt.Errorf("undo record of the check: %w", err)
	}
	var errs []error
	if ch.Swapped {
		sw, err := openSwapper(env)
		switch {
		case errors.Is(err, os.ErrNotExist):
			// The pins are gone, and the links with them.
		case err != nil:
			errs = append(errs, err)
		default:
			errs = append(errs, sw.restore())
			sw.Close()
		}
	}
	if ch.DevmapWhy == "" {
		if err := setDevmap(env, ch.Devmap, false); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if ch.Neighbour != nil {
		errs = append(errs, ch.Neighbour.restore(env))
	}
	return errors.Join(errs...)
}
