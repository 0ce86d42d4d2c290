// Package topology describes lab networks as plain data, resolves them to
// concrete namespace names, addresses and MACs, and deploys or destroys them.
package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// Spec is a topology as a lab declares it: plain data, no syscalls.
type Spec struct {
	Name  string `json:"name"`
	Nodes []Node `json:"nodes"`
	Links []Link `json:"links"`
	// StaticNeighbors adds a permanent neighbour entry on each side of every
	// link for the peer's address and MAC, so the first packet needs no ARP.
	StaticNeighbors bool `json:"static_neighbors,omitempty"`
	// Roles name the interfaces a lab works with ("sender": "host/veth0"),
	// so that labs take addresses and interfaces from the topology instead
	// of restating them.
	Roles map[string]string `json:"roles,omitempty"`
}

// Node is one host: a network namespace named <instance>-<lab>-<node>.
type Node struct {
	Name string `json:"name"`
	// Forward turns on net.ipv4.ip_forward in this node.
	Forward bool `json:"forward,omitempty"`
	// IPv6 keeps IPv6 enabled; otherwise it is disabled so captures hold no
	// DAD or MLD noise.
	IPv6 bool `json:"ipv6,omitempty"`
	// Sysctls are extra settings, applied after the defaults ("net.ipv4.conf.all.rp_filter": "0").
	Sysctls map[string]string `json:"sysctls,omitempty"`
	Routes  []Route           `json:"routes,omitempty"`
}

// Link is a veth pair between two nodes.
type Link struct {
	A Endpoint `json:"a"`
	B Endpoint `json:"b"`
}

// Endpoint is one end of a link.
type Endpoint struct {
	Node  string `json:"node"`
	Iface string `json:"iface"`
	// Addr is an IPv4 address with prefix length, e.g. 192.168.0.3/24.
	Addr string `json:"addr"`
}

// Route is a static route in a node.
type Route struct {
	Dst string `json:"dst"` // CIDR
	Via string `json:"via"` // gateway address
}

var (
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,19}$`)
	ifaceRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.]{0,14}$`)
	// Instance names may not contain '-': the first '-' of a namespace name ends
	// the instance, which makes a sweep by "<instance>-" exact.
	instanceRE = regexp.MustCompile(`^[a-zA-Z0-9_]{1,32}$`)
)

// ErrInvalid wraps every validation error.
var ErrInvalid = errors.New("invalid topology")

// ValidateInstance checks an instance name.
func ValidateInstance(name string) error {
	if !instanceRE.MatchString(name) {
		return fmt.Errorf("invalid instance name %q: use 1-32 letters, digits or '_' (no '-', it separates instance, lab and node in namespace names)", name)
	}
	return nil
}

// ValidateLabName checks a lab name used in namespace names.
func ValidateLabName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid lab name %q: want lowercase letters, digits or '_'", name)
	}
	return nil
}

// Validate checks the spec without touching the system.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if len(s.Nodes) == 0 {
		bad("no nodes")
	}
	nodes := map[string]bool{}
	for _, n := range s.Nodes {
		if !nameRE.MatchString(n.Name) {
			bad("node name %q: want lowercase letters, digits or '_', at most 20", n.Name)
		}
		if nodes[n.Name] {
			bad("node %q declared twice", n.Name)
		}
		nodes[n.Name] = true
		for k := range n.Sysctls {
			if !strings.HasPrefix(k, "net.") || strings.Contains(k, "..") || strings.ContainsAny(k, "/ ") {
				bad("node %s: sysctl %q: only net.* keys are per namespace", n.Name, k)
			}
		}
	}
	ifaces := map[string]bool{}
	addrs := map[netip.Addr]string{}
	subnets := map[string][]netip.Prefix{}
	for i, l := range s.Links {
		for _, e := range []Endpoint{l.A, l.B} {
			if !nodes[e.Node] {
				bad("link %d: unknown node %q", i, e.Node)
			}
			if !ifaceRE.MatchString(e.Iface) {
				bad("link %d: interface name %q: 1-15 characters, letters first", i, e.Iface)
			}
			key := e.Node + "/" + e.Iface
			if ifaces[key] {
				bad("interface %s used twice", key)
			}
			ifaces[key] = true
			if e.Addr == "" {
				continue
			}
			p, err := netip.ParsePrefix(e.Addr)
			if err != nil || !p.Addr().Is4() {
				bad("%s: address %q: want IPv4 with prefix length, e.g. 192.168.0.2/24", key, e.Addr)
				continue
			}
			if prev, ok := addrs[p.Addr()]; ok {
				bad("address %s used by %s and %s", p.Addr(), prev, key)
			}
			addrs[p.Addr()] = key
			subnets[e.Node] = append(subnets[e.Node], p.Masked())
		}
		if l.A.Node == l.B.Node {
			bad("link %d: both ends on node %s", i, l.A.Node)
		}
	}
	roles := make([]string, 0, len(s.Roles))
	for role := range s.Roles {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		where := s.Roles[role]
		if !nameRE.MatchString(role) {
			bad("role name %q: want lowercase letters, digits or '_', at most 20", role)
		}
		if !ifaces[where] {
			bad("role %s: %q is not an interface of the topology (want node/iface, e.g. host/veth0)", role, where)
		}
	}
	for _, n := range s.Nodes {
		for _, r := range n.Routes {
			if _, err := netip.ParsePrefix(r.Dst); err != nil {
				bad("node %s: route destination %q: %v", n.Name, r.Dst, err)
			}
			gw, err := netip.ParseAddr(r.Via)
			if err != nil {
				bad("node %s: route gateway %q: %v", n.Name, r.Via, err)
				continue
			}
			onLink := false
			for _, sn := range subnets[n.Name] {
				onLink = onLink || sn.Contains(gw)
			}
			if !onLink {
				bad("node %s: gateway %s is not on any of its links", n.Name, gw)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w %q: %w", ErrInvalid, s.Name, errors.Join(errs...))
	}
	return nil
}

// Pair is the two-node topology most labs use: the tutorials' root-side veth0
// lives in a "host" node here, so nothing touches the real root namespace.
func Pair() Spec {
	return Spec{
		Name:  "pair",
		Nodes: []Node{{Name: "host"}, {Name: "node1"}},
		Links: []Link{{
			A: Endpoint{Node: "host", Iface: "veth0", Addr: "192.168.0.3/24"},
			B: Endpoint{Node: "node1", Iface: "veth1", Addr: "192.168.0.2/24"},
		}},
		Roles: map[string]string{"sender": "host/veth0", "dut": "node1/veth1"},
	}
}

// Redirect is the three-node topology of the redirect lab: node1 routes
// between the host and node2.
func Redirect() Spec {
	return Spec{
		Name: "redirect",
		Nodes: []Node{
			{Name: "host", Routes: []Route{{Dst: "192.168.1.0/24", Via: "192.168.0.2"}}},
			{Name: "node1", Forward: true},
			{Name: "node2", Routes: []Route{{Dst: "192.168.0.0/24", Via: "192.168.1.4"}}},
		},
		Links: []Link{
			{A: Endpoint{Node: "host", Iface: "veth0", Addr: "192.168.0.3/24"},
				B: Endpoint{Node: "node1", Iface: "veth1", Addr: "192.168.0.2/24"}},
			{A: Endpoint{Node: "node1", Iface: "veth2", Addr: "192.168.1.4/24"},
				B: Endpoint{Node: "node2", Iface: "veth3", Addr: "192.168.1.5/24"}},
		},
		StaticNeighbors: true,
		Roles: map[string]string{
			"sender": "host/veth0", "dut": "node1/veth1",
			"dut_out": "node1/veth2", "receiver": "node2/veth3",
		},
	}
}
