package topology

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
)

// Deployed is a resolved topology whose namespaces exist and are open.
type Deployed struct {
	*Resolved
	ns map[string]*namespace.NS
}

// NS returns the open namespace of a node.
func (d *Deployed) NS(node string) (*namespace.NS, error) {
	ns, ok := d.ns[node]
	if !ok {
		return nil, fmt.Errorf("unknown node %q in %s (nodes: %v)", node, d.Lab, d.NodeNames())
	}
	return ns, nil
}

// MustNS is NS for node names a lab declared itself.
func (d *Deployed) MustNS(node string) *namespace.NS {
	ns, err := d.NS(node)
	if err != nil {
		panic(err)
	}
	return ns
}

// Place is an interface of a deployed topology with the open namespace it
// lives in: what a check needs to send from it or listen on it.
type Place struct {
	ResolvedEndpoint
	NS *namespace.NS
}

// Role returns the deployed interface a role names, e.g. the "sender".
func (d *Deployed) Role(role string) (Place, error) {
	e, err := d.Resolved.Role(role)
	if err != nil {
		return Place{}, err
	}
	ns, err := d.NS(e.Node)
	if err != nil {
		return Place{}, err
	}
	return Place{ResolvedEndpoint: e, NS: ns}, nil
}

// MustRole is Role for the roles a lab's own topology declares.
func (d *Deployed) MustRole(role string) Place {
	p, err := d.Role(role)
	if err != nil {
		panic(err)
	}
	return p
}

// Close releases the namespace handles; the topology stays deployed.
func (d *Deployed) Close() {
	for _, ns := range d.ns {
		ns.Close()
	}
}

// Deploy creates the topology: namespaces with their sysctls, veth pairs made
// directly in their namespaces, addresses, routes and neighbours. It returns
// once every veth carries traffic. A failure removes whatever this call
// created, so a partial deploy never stays behind.
func (r *Resolved) Deploy(ctx context.Context) (_ *Deployed, err error) {
	if err := r.CheckFree(nil); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", r.Lab, err)
	}
	for _, n := range r.Nodes {
		if namespace.Exists(n.Namespace) {
			return nil, fmt.Errorf("deploy %s: namespace %s already exists", r.Lab, n.Namespace)
		}
	}
	d := &Deployed{Resolved: r, ns: map[string]*namespace.NS{}}
	defer func() {
		if err != nil {
			d.Close()
			if derr := r.Destroy(context.Background()); derr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", derr))
			}
		}
	}()
	for _, n := range r.Nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ns, err := namespace.Create(n.Namespace, Mark(r.Instance, r.Lab))
		if err != nil {
			return nil, err
		}
		d.ns[n.Name] = ns
		if err := configureNode(ns, n); err != nil {
			return nil, err
		}
	}
	// Deploy returns only once the kernel carries traffic on every veth
	// (see linkWatch). addLink sets A up first: B then finds its peer up,
	// gets its carrier at once and is activated as it comes up; A waits for
	// the kernel's link watcher. Watched before any link is set up.
	ifaces := map[string][]string{}
	for _, l := range r.Links {
		ifaces[l.A.Node] = append(ifaces[l.A.Node], l.A.Iface)
	}
	watches := map[string]*linkWatch{}
	defer func() {
		for _, w := range watches {
			w.Close()
		}
	}()
	for node := range ifaces {
		w, err := watchLinks(node, d.ns[node])
		if err != nil {
			return nil, err
		}
		watches[node] = w
	}
	for _, l := range r.Links {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := d.addLink(l); err != nil {
			return nil, err
		}
	}
	for _, n := range r.Nodes {
		for _, rt := range n.Routes {
			route := &netlink.Route{
				Dst: prefixNet(rt.Dst),
				Gw:  net.IP(rt.Via.AsSlice()),
			}
			if err := d.ns[n.Name].Netlink().RouteAdd(route); err != nil {
				return nil, fmt.Errorf("route %s via %s in %s: %w", rt.Dst, rt.Via, n.Name, err)
			}
		}
	}
	if r.StaticNeighbors {
		for _, l := range r.Links {
			if err := d.addNeighbor(l.A, l.B); err != nil {
				return nil, err
			}
			if err := d.addNeighbor(l.B, l.A); err != nil {
				return nil, err
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, linkUpWait)
	defer cancel()
	for node, w := range watches {
		if err := w.waitUp(wctx, ifaces[node]); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", r.Lab, err)
		}
	}
	return d, nil
}

func configureNode(ns *namespace.NS, n ResolvedNode) error {
	err := ns.Do(func() error {
		for _, s := range n.Sysctls {
			if err := namespace.WriteSysctl(s.Key, s.Value); err != nil {
				return fmt.Errorf("node %s: %w", n.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	lo, err := ns.Netlink().LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback in %s: %w", n.Name, err)
	}
	if err := ns.Netlink().LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up in %s: %w", n.Name, err)
	}
	return nil
}

func (d *Deployed) addLink(l ResolvedLink) error {
	a, b := d.ns[l.A.Node], d.ns[l.B.Node]
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: l.A.Iface, HardwareAddr: l.A.MAC},
		PeerName:         l.B.Iface,
		PeerHardwareAddr: l.B.MAC,
		PeerNamespace:    netlink.NsFd(b.Fd()),
	}
	if err := a.Netlink().LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s/%s <-> %s/%s: %w", l.A.Node, l.A.Iface, l.B.Node, l.B.Iface, err)
	}
	// A before B: Deploy waits for A only (see linkWatch).
	for _, e := range []struct {
		ns *namespace.NS
		ep ResolvedEndpoint
	}{{a, l.A}, {b, l.B}} {
		h := e.ns.Netlink()
		link, err := h.LinkByName(e.ep.Iface)
		if err != nil {
			return fmt.Errorf("find %s/%s: %w", e.ep.Node, e.ep.Iface, err)
		}
		if e.ep.Addr.IsValid() {
			addr := &netlink.Addr{IPNet: prefixNet(e.ep.Addr)}
			if err := h.AddrAdd(link, addr); err != nil {
				return fmt.Errorf("address %s on %s/%s: %w", e.ep.Addr, e.ep.Node, e.ep.Iface, err)
			}
		}
		if err := h.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s/%s up: %w", e.ep.Node, e.ep.Iface, err)
		}
	}
	return nil
}

// addNeighbor makes `peer` permanently resolved on `local`'s interface.
func (d *Deployed) addNeighbor(local, peer ResolvedEndpoint) error {
	if !peer.Addr.IsValid() {
		return nil
	}
	h := d.ns[local.Node].Netlink()
	link, err := h.LinkByName(local.Iface)
	if err != nil {
		return fmt.Errorf("find %s/%s: %w", local.Node, local.Iface, err)
	}
	err = h.NeighSet(&netlink.Neigh{
		LinkIndex:    link.Attrs().Index,
		Family:       unix.AF_INET,
		State:        netlink.NUD_PERMANENT,
		IP:           net.IP(peer.Addr.Addr().AsSlice()),
		HardwareAddr: peer.MAC,
	})
	if err != nil {
		return fmt.Errorf("neighbour %s on %s/%s: %w", peer.Addr.Addr(), local.Node, local.Iface, err)
	}
	return nil
}

// Open opens an already deployed topology, e.g. for `check` after `up`. A
// namespace of the right name without our mark is refused: it is someone
// else's, and a check must not send traffic or attach programs there.
func (r *Resolved) Open() (*Deployed, error) {
	d := &Deployed{Resolved: r, ns: map[string]*namespace.NS{}}
	for _, n := range r.Nodes {
		ns, err := namespace.Open(n.Namespace)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.ns[n.Name] = ns
		mark, err := ns.Mark()
		if want := Mark(r.Instance, r.Lab); err == nil && mark != want {
			err = fmt.Errorf("it was %w (the alias of its lo is %q, not %q)", ErrForeign, mark, want)
		}
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("open namespace %s: %w", n.Namespace, err)
		}
	}
	return d, nil
}

// Destroy deletes every namespace of the topology that carries our mark; the
// veths, addresses and routes go with them. A namespace of the same name that
// xdplab did not create stays. Destroying what is not there is not an error.
func (r *Resolved) Destroy(ctx context.Context) error {
	var errs []error
	for _, name := range r.Namespaces() {
		e, err := namespace.Examine(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !owns(e, r.Instance, r.Lab, nil) {
			continue
		}
		if err := namespace.Delete(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
