package topology

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// Resolved is a spec bound to an instance and a lab: every name, address and
// MAC is concrete. Resolving is pure, so it is cheap to redo from the spec.
type Resolved struct {
	Instance        string
	Lab             string
	Spec            Spec
	Nodes           []ResolvedNode
	Links           []ResolvedLink
	StaticNeighbors bool
}

// ResolvedNode is a node with its namespace name and effective sysctls.
type ResolvedNode struct {
	Name      string
	Namespace string
	// Sysctls in the order they are applied.
	Sysctls []Sysctl
	Routes  []ResolvedRoute
}

// Sysctl is one key=value setting.
type Sysctl struct{ Key, Value string }

// ResolvedRoute is a parsed static route.
type ResolvedRoute struct {
	Dst netip.Prefix
	Via netip.Addr
}

// ResolvedLink is a veth pair with concrete ends.
type ResolvedLink struct{ A, B ResolvedEndpoint }

// ResolvedEndpoint is one end of a veth pair.
type ResolvedEndpoint struct {
	Node      string
	Namespace string
	Iface     string
	Addr      netip.Prefix // invalid when the spec gave none
	MAC       net.HardwareAddr
}

// NamespaceName is <instance>-<lab>-<node>.
func NamespaceName(instance, lab, node string) string {
	return instance + "-" + lab + "-" + node
}

// Prefix is what every namespace of an instance starts with.
func Prefix(instance string) string { return instance + "-" }

// LabPrefix is what every namespace of one lab of an instance starts with.
func LabPrefix(instance, lab string) string { return instance + "-" + lab + "-" }

// MAC derives a locally administered unicast MAC from instance, node and
// interface, so captures of the same lab look the same on every machine.
func MAC(instance, node, iface string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(instance + "/" + node + "/" + iface))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}

// Resolve validates the spec and binds it to an instance and lab.
func Resolve(s Spec, instance, lab string) (*Resolved, error) {
	if err := ValidateInstance(instance); err != nil {
		return nil, err
	}
	if err := ValidateLabName(lab); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	r := &Resolved{Instance: instance, Lab: lab, Spec: s, StaticNeighbors: s.StaticNeighbors}
	for _, n := range s.Nodes {
		rn := ResolvedNode{Name: n.Name, Namespace: NamespaceName(instance, lab, n.Name)}
		rn.Sysctls = defaultSysctls(n)
		for _, k := range sortedKeys(n.Sysctls) {
			rn.Sysctls = append(rn.Sysctls, Sysctl{k, n.Sysctls[k]})
		}
		for _, rt := range n.Routes {
			rn.Routes = append(rn.Routes, ResolvedRoute{
				Dst: netip.MustParsePrefix(rt.Dst).Masked(),
				Via: netip.MustParseAddr(rt.Via),
			})
		}
		r.Nodes = append(r.Nodes, rn)
	}
	for _, l := range s.Links {
		r.Links = append(r.Links, ResolvedLink{A: r.endpoint(l.A), B: r.endpoint(l.B)})
	}
	return r, nil
}

func (r *Resolved) endpoint(e Endpoint) ResolvedEndpoint {
	re := ResolvedEndpoint{
		Node:      e.Node,
		Namespace: NamespaceName(r.Instance, r.Lab, e.Node),
		Iface:     e.Iface,
		MAC:       MAC(r.Instance, e.Node, e.Iface),
	}
	if e.Addr != "" {
		re.Addr = netip.MustParsePrefix(e.Addr)
	}
	return re
}

// defaultSysctls makes every node independent of the host's settings: the
// values a new namespace would inherit are written out explicitly.
func defaultSysctls(n Node) []Sysctl {
	fwd := "0"
	if n.Forward {
		fwd = "1"
	}
	v6 := "1"
	if n.IPv6 {
		v6 = "0"
	}
	return []Sysctl{
		{"net.ipv4.ip_forward", fwd},
		{"net.ipv4.conf.all.rp_filter", "0"},
		{"net.ipv4.conf.default.rp_filter", "0"},
		{"net.ipv6.conf.all.disable_ipv6", v6},
		{"net.ipv6.conf.default.disable_ipv6", v6},
	}
}

// Node returns the resolved node by name.
func (r *Resolved) Node(name string) (ResolvedNode, bool) {
	for _, n := range r.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return ResolvedNode{}, false
}

// NodeNames lists the node names in declaration order.
func (r *Resolved) NodeNames() []string {
	names := make([]string, len(r.Nodes))
	for i, n := range r.Nodes {
		names[i] = n.Name
	}
	return names
}

// Endpoint returns the resolved endpoint node/iface.
func (r *Resolved) Endpoint(node, iface string) (ResolvedEndpoint, error) {
	for _, l := range r.Links {
		for _, e := range []ResolvedEndpoint{l.A, l.B} {
			if e.Node == node && e.Iface == iface {
				return e, nil
			}
		}
	}
	return ResolvedEndpoint{}, fmt.Errorf("no interface %s/%s in topology %s", node, iface, r.Spec.Name)
}

// Role returns the endpoint a role names ("sender" -> host/veth0).
func (r *Resolved) Role(role string) (ResolvedEndpoint, error) {
	where, ok := r.Spec.Roles[role]
	if !ok {
		return ResolvedEndpoint{}, fmt.Errorf("topology %s has no role %q (roles: %s)", r.Spec.Name, role, strings.Join(r.RoleNames(), ", "))
	}
	node, iface, _ := strings.Cut(where, "/")
	return r.Endpoint(node, iface)
}

// RoleNames lists the topology's roles, sorted.
func (r *Resolved) RoleNames() []string {
	names := make([]string, 0, len(r.Spec.Roles))
	for n := range r.Spec.Roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Namespaces lists every namespace name of the topology.
func (r *Resolved) Namespaces() []string {
	names := make([]string, len(r.Nodes))
	for i, n := range r.Nodes {
		names[i] = n.Namespace
	}
	return names
}
