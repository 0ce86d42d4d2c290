package topology_test

import (
	"context"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/topology"
)

// deploy deploys spec as lab of a fresh instance, and removes it when the
// test ends.
func deploy(t *testing.T, spec topology.Spec, lab string) (*topology.Resolved, *topology.Deployed) {
	t.Helper()
	testutils.RequirePrivileged(t)
	r, err := topology.Resolve(spec, testutils.Instance(t), lab)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Deploy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		r.Destroy(context.Background())
	})
	return r, d
}

func TestDeployDestroyRedirect(t *testing.T) {
	r, d := deploy(t, topology.Redirect(), "redirect")
	inst := r.Instance

	// Every namespace reads back the settings the spec asked for, not the host's.
	want := map[string]string{"host": "0", "node1": "1", "node2": "0"}
	for node, fwd := range want {
		ns := d.MustNS(node)
		for key, exp := range map[string]string{
			"net.ipv4.ip_forward":                fwd,
			"net.ipv4.conf.all.rp_filter":        "0",
			"net.ipv6.conf.all.disable_ipv6":     "1",
			"net.ipv6.conf.default.disable_ipv6": "1",
		} {
			got, err := ns.ReadSysctl(key)
			if err != nil {
				t.Fatal(err)
			}
			if got != exp {
				t.Errorf("%s: %s = %s, want %s", node, key, got, exp)
			}
		}
	}
	// bpf_fib_lookup checks forwarding on the ingress interface itself and
	// rp_filter acts per interface: the veths, created after the sysctls
	// were written, must have inherited them.
	for _, e := range []struct{ node, iface, fwd string }{
		{"host", "veth0", "0"}, {"node1", "veth1", "1"}, {"node1", "veth2", "1"}, {"node2", "veth3", "0"},
	} {
		for key, exp := range map[string]string{
			"net.ipv4.conf." + e.iface + ".forwarding":   e.fwd,
			"net.ipv4.conf." + e.iface + ".rp_filter":    "0",
			"net.ipv6.conf." + e.iface + ".disable_ipv6": "1",
		} {
			got, err := d.MustNS(e.node).ReadSysctl(key)
			if err != nil {
				t.Fatal(err)
			}
			if got != exp {
				t.Errorf("%s: %s = %s, want %s", e.node, key, got, exp)
			}
		}
	}
	host := d.MustNS("host")
	l, err := host.Netlink().LinkByName("veth0")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Attrs().HardwareAddr.String(), topology.MAC(inst, "host", "veth0").String(); got != want {
		t.Errorf("veth0 MAC %s, want %s", got, want)
	}
	neighs, err := host.Netlink().NeighList(l.Attrs().Index, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(neighs) != 1 || neighs[0].IP.String() != "192.168.0.2" {
		t.Errorf("host neighbours %v, want one permanent entry for 192.168.0.2", neighs)
	}
	if err := r.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range r.Namespaces() {
		if namespace.Exists(n) {
			t.Errorf("namespace %s still exists", n)
		}
	}
}

func TestDeployRollsBackOnFailure(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	r, err := topology.Resolve(topology.Pair(), inst, "pair")
	if err != nil {
		t.Fatal(err)
	}
	// A namespace of the same name as node1's makes the deploy fail up front.
	ns, err := namespace.Create(topology.NamespaceName(inst, "pair", "node1"), "")
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	if _, err := r.Deploy(context.Background()); err == nil {
		t.Fatal("deploy over an existing namespace succeeded")
	}
	namespace.Delete(topology.NamespaceName(inst, "pair", "node1"))
	// Cancelled context mid-way: nothing created stays.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Deploy(ctx); err == nil {
		t.Fatal("deploy with a cancelled context succeeded")
	}
}

func BenchmarkDeployPair(b *testing.B) {
	testutils.RequirePrivileged(b)
	inst := testutils.Instance(b)
	r, err := topology.Resolve(topology.Pair(), inst, "pair")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		d, err := r.Deploy(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
		if err := r.Destroy(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDeployedLinksCarryTraffic: when Deploy returns, the kernel carries
// traffic on every veth end: the first packets, ARP requests included, are
// not dropped. (Before, Deploy returned as soon as the links were set up;
// under a class's load the kernel activated the first end of a pair more
// than a second later, and the first pings of a check were lost: see
// linkWatch.)
func TestDeployedLinksCarryTraffic(t *testing.T) {
	r, d := deploy(t, topology.Redirect(), "redirect")
	for _, l := range r.Links {
		if link, err := d.MustNS(l.A.Node).Netlink().LinkByName(l.A.Iface); err != nil || link.Attrs().OperState != netlink.OperUp {
			t.Errorf("%s/%s right after Deploy: %v, %v; want it up", l.A.Node, l.A.Iface, link, err)
		}
		for _, e := range [][2]topology.ResolvedEndpoint{{l.A, l.B}, {l.B, l.A}} {
			from, to := e[0], e[1]
			res, err := traffic.Ping(context.Background(), d.MustNS(from.Node), to.Addr.Addr(), traffic.PingOptions{})
			if err != nil || res.Received != 1 {
				t.Errorf("ping %s -> %s: %+v, %v", from.Node, to.Addr.Addr(), res, err)
			}
		}
		for _, ep := range []topology.ResolvedEndpoint{l.A, l.B} {
			link, err := d.MustNS(ep.Node).Netlink().LinkByName(ep.Iface)
			if err != nil {
				t.Fatal(err)
			}
			if n := link.Attrs().Statistics.TxDropped; n != 0 {
				t.Errorf("%s/%s dropped %d packets", ep.Node, ep.Iface, n)
			}
		}
	}
}
