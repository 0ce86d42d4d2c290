package labtest

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
)

// DeleteRoute deletes the route to dst (a CIDR) in a node of a running lab,
// behind the lab's back, as a learner's own experiment might: traffic to
// dst from that node then fails to be sent at all.
func DeleteRoute(t *testing.T, r *labs.Runner, lab, node, dst string) {
	t.Helper()
	ns, err := namespace.Open(topology.NamespaceName(r.Instance, lab, node))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	_, prefix, err := net.ParseCIDR(dst)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := ns.Netlink().RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: prefix}, netlink.RT_FILTER_DST)
	if err != nil || len(routes) != 1 {
		t.Fatalf("route to %s in %s: %v, %v", dst, node, routes, err)
	}
	if err := ns.Netlink().RouteDel(&routes[0]); err != nil {
		t.Fatalf("delete the route to %s in %s: %v", dst, node, err)
	}
}
