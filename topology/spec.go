// Package topology describes networks as data, in YAML files (the embedded
// ones under shapes/ or a user's own; YAML rather than JSON because they are
// written by hand and need comments, and its parser gives every value the
// line that errors name), resolves them to concrete namespace names,
// addresses and MACs, and deploys or destroys them.
package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Spec is a topology as a lab declares it: plain data, no syscalls. The
// yaml and json names are the same: files are YAML, state records JSON.
type Spec struct {
	Name  string `json:"name" yaml:"name"`
	Nodes []Node `json:"nodes" yaml:"nodes"`
	Links []Link `json:"links" yaml:"links"`
	// StaticNeighbors adds a permanent neighbour entry on each side of every
	// link for the peer's address and MAC, so the first packet needs no ARP.
	StaticNeighbors bool `json:"static_neighbors,omitempty" yaml:"static_neighbors"`
	// Roles name the interfaces a lab works with ("sender": "host/veth0"),
	// so that labs take addresses and interfaces from the topology instead
	// of restating them.
	Roles map[string]string `json:"roles,omitempty" yaml:"roles"`
}

// Node is one host: a network namespace named <instance>-<lab>-<node>.
type Node struct {
	Name string `json:"name" yaml:"name"`
	// Forward turns on net.ipv4.ip_forward in this node.
	Forward bool `json:"forward,omitempty" yaml:"forward"`
	// IPv6 keeps IPv6 enabled; otherwise it is disabled so captures hold no
	// DAD or MLD noise.
	IPv6 bool `json:"ipv6,omitempty" yaml:"ipv6"`
	// Sysctls are extra settings, applied after the defaults ("net.ipv4.conf.all.rp_filter": "0").
	Sysctls map[string]string `json:"sysctls,omitempty" yaml:"sysctls"`
	Routes  []Route           `json:"routes,omitempty" yaml:"routes"`
}

// Link is a veth pair between two nodes.
type Link struct {
	A Endpoint `json:"a" yaml:"a"`
	B Endpoint `json:"b" yaml:"b"`
}

// Endpoint is one end of a link.
type Endpoint struct {
	Node  string `json:"node" yaml:"node"`
	Iface string `json:"iface" yaml:"iface"`
	// Addr is an IPv4 address with prefix length, e.g. 192.168.0.3/24.
	Addr string `json:"addr" yaml:"addr"`
}

// Route is a static route in a node.
type Route struct {
	Dst string `json:"dst" yaml:"dst"` // CIDR
	Via string `json:"via" yaml:"via"` // gateway address
}

// The names xdplab builds namespace and interface names from are checked by
// hand rather than with regular expressions, which would be compiled at the
// start of every command (about 0.2 ms).

// validName: a lowercase letter, then up to 19 lowercase letters, digits or '_'.
func validName(s string) bool {
	return s != "" && len(s) <= 20 && isLower(s[0]) && every(s, func(c byte) bool { return isLower(c) || isDigit(c) || c == '_' })
}

// validIface: a letter, then up to 14 letters, digits, '_' or '.'.
func validIface(s string) bool {
	return s != "" && len(s) <= 15 && isLetter(s[0]) && every(s, func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '.' })
}

// validInstance: 1-32 letters, digits or '_'. Not '-': the first '-' of a
// namespace name ends the instance, which makes a sweep by "<instance>-"
// exact.
func validInstance(s string) bool {
	return s != "" && len(s) <= 32 && every(s, func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' })
}

func isLower(c byte) bool  { return 'a' <= c && c <= 'z' }
func isLetter(c byte) bool { return isLower(c) || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

func every(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// ErrInvalid wraps every validation error.
var ErrInvalid = errors.New("invalid topology")

// ValidateInstance checks an instance name.
func ValidateInstance(name string) error {
	if !validInstance(name) {
		return fmt.Errorf("invalid instance name %q: use 1-32 letters, digits or '_' (no '-', it separates instance, lab and node in namespace names)", name)
	}
	return nil
}

// ValidateLabName checks a lab name used in namespace names.
func ValidateLabName(name string) error {
	if !validName(name) {
		return fmt.Errorf("invalid lab name %q: want lowercase letters, digits or '_'", name)
	}
	return nil
}

// Validate checks the spec without touching the system. The error is an
// *InvalidError that lists every problem, each naming its field and node.
func (s Spec) Validate() error {
	if probs := s.problems(); len(probs) > 0 {
		return &InvalidError{Name: s.Name, Problems: probs}
	}
	return nil
}

// problems lists what is wrong with the spec, each located by its field
// path (nodes[1].routes[0].via), which a file maps to its line.
func (s Spec) problems() []Problem {
	var probs []Problem
	bad := func(field, node, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Node: node, Msg: fmt.Sprintf(format, args...)})
	}
	if len(s.Nodes) == 0 {
		bad("nodes", "", "no nodes: a topology needs at least one")
	}
	nodes := map[string]bool{}
	var nodeNames []string
	for i, n := range s.Nodes {
		at := fmt.Sprintf("nodes[%d]", i)
		if !validName(n.Name) {
			bad(at+".name", "", "node name %q: want lowercase letters, digits or '_', at most 20, a letter first", n.Name)
		}
		if nodes[n.Name] {
			bad(at+".name", "", "node %q declared twice", n.Name)
		}
		nodes[n.Name] = true
		nodeNames = append(nodeNames, n.Name)
		for _, k := range sortedKeys(n.Sysctls) {
			if !strings.HasPrefix(k, "net.") || strings.Contains(k, "..") || strings.ContainsAny(k, "/ ") {
				bad(at+".sysctls."+k, n.Name, "sysctl %q: only net.* keys are per namespace", k)
			}
		}
	}
	ifaces := map[string]bool{}
	addrs := map[netip.Addr]string{}
	subnets := map[string][]netip.Prefix{}
	for i, l := range s.Links {
		for j, e := range []Endpoint{l.A, l.B} {
			at := fmt.Sprintf("links[%d].%s", i, []string{"a", "b"}[j])
			if !nodes[e.Node] {
				bad(at+".node", "", "unknown node %q (nodes: %s)", e.Node, strings.Join(nodeNames, ", "))
			}
			if !validIface(e.Iface) {
				bad(at+".iface", e.Node, "interface name %q: 1-15 characters, letters first", e.Iface)
			}
			key := e.Node + "/" + e.Iface
			if ifaces[key] {
				bad(at+".iface", e.Node, "interface %s used twice", key)
			}
			ifaces[key] = true
			if e.Addr == "" {
				continue
			}
			p, err := netip.ParsePrefix(e.Addr)
			if err != nil || !p.Addr().Is4() {
				bad(at+".addr", e.Node, "address %q: want IPv4 with prefix length, e.g. 192.168.0.2/24", e.Addr)
				continue
			}
			if prev, ok := addrs[p.Addr()]; ok {
				bad(at+".addr", e.Node, "address %s used by %s and %s", p.Addr(), prev, key)
			}
			addrs[p.Addr()] = key
			subnets[e.Node] = append(subnets[e.Node], p)
		}
		if l.A.Node == l.B.Node {
			bad(fmt.Sprintf("links[%d]", i), l.A.Node, "both ends on node %s: a link joins two nodes", l.A.Node)
		}
	}
	for _, role := range sortedKeys(s.Roles) {
		where := s.Roles[role]
		if !validName(role) {
			bad("roles."+role, "", "role name %q: want lowercase letters, digits or '_', at most 20", role)
		}
		if !ifaces[where] {
			bad("roles."+role, "", "role %s: %q is not an interface of the topology (want node/iface, e.g. host/veth0)", role, where)
		}
	}
	for i, n := range s.Nodes {
		for j, r := range n.Routes {
			at := fmt.Sprintf("nodes[%d].routes[%d]", i, j)
			if _, err := netip.ParsePrefix(r.Dst); err != nil {
				bad(at+".dst", n.Name, "route destination %q: want a CIDR, e.g. 10.0.0.0/8", r.Dst)
			}
			gw, err := netip.ParseAddr(r.Via)
			if err != nil {
				bad(at+".via", n.Name, "route gateway %q: want an address, e.g. 192.168.0.1", r.Via)
				continue
			}
			onLink := false
			var own []string
			for _, sn := range subnets[n.Name] {
				onLink = onLink || sn.Masked().Contains(gw)
				own = append(own, sn.String())
			}
			if !onLink {
				have := "it has no addresses"
				if len(own) > 0 {
					have = "its addresses: " + strings.Join(own, ", ")
				}
				bad(at+".via", n.Name, "route via %s: gateway is not on any of its links (%s)", gw, have)
			}
		}
	}
	return probs
}

// Summary counts nodes and links: "3 nodes, 2 links".
func (s Spec) Summary() string {
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	return plural(len(s.Nodes), "node") + ", " + plural(len(s.Links), "link")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
