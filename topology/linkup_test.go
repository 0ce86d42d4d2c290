package topology

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
)

// TestWaitUpFollowsTheKernel: waitUp returns when the kernel reports the
// veth up, which needs its peer up too, and not before; a veth that never
// comes up ends the wait with ctx, named in the error.
func TestWaitUpFollowsTheKernel(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	var nss []*namespace.NS
	for _, node := range []string{"a", "b"} {
		ns, err := namespace.Create(NamespaceName(inst, "linkup", node), "")
		if err != nil {
			t.Fatal(err)
		}
		nss = append(nss, ns)
		t.Cleanup(func() { ns.Close(); namespace.Delete(ns.Name) })
	}
	a, b := nss[0], nss[1]
	for _, pair := range [][2]string{{"veth0", "veth1"}, {"veth2", "veth3"}} {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: pair[0]}, PeerName: pair[1], PeerNamespace: netlink.NsFd(b.Fd())}
		if err := a.Netlink().LinkAdd(veth); err != nil {
			t.Fatal(err)
		}
	}
	setUp := func(ns *namespace.NS, name string) {
		t.Helper()
		l, err := ns.Netlink().LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := ns.Netlink().LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}

	w, err := watchLinks("a", a)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	setUp(a, "veth0")
	done := make(chan error, 1)
	go func() { done <- w.waitUp(context.Background(), []string{"veth0"}) }()
	// With its peer down, veth0 has no carrier: no kernel reports it up.
	select {
	case err := <-done:
		t.Fatalf("waitUp returned while the peer was down: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	setUp(b, "veth1")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waitUp = %v", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a speed target
		t.Fatal("waitUp did not return after the peer came up")
	}
	if l, err := a.Netlink().LinkByName("veth0"); err != nil || l.Attrs().OperState != netlink.OperUp {
		t.Errorf("veth0 after waitUp: %v, %v", l, err)
	}

	// veth2's peer stays down.
	setUp(a, "veth2")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = w.waitUp(ctx, []string{"veth2"})
	if err == nil || !strings.Contains(err.Error(), "a/veth2 is set up, but the kernel had not brought it up") || !strings.Contains(err.Error(), "run the command again") {
		t.Errorf("waitUp for a veth whose peer is down = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := w.waitUp(ctx, []string{"veth2"}); !errors.Is(err, context.Canceled) {
		t.Errorf("waitUp with a cancelled context = %v", err)
	}
}
