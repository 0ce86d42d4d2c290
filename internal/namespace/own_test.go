package namespace_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
)

// TestOpenOwn: xdplab's own namespace opens, with its lo, and it is the one
// the tests run in (the machine's own).
func TestOpenOwn(t *testing.T) {
	testutils.RequirePrivileged(t)
	ns, err := namespace.OpenOwn()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var own, root unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &own); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(ns.Fd(), &root); err != nil {
		t.Fatal(err)
	}
	if own.Ino != root.Ino || own.Dev != root.Dev {
		t.Errorf("OpenOwn opened namespace inode %d, the tests run in %d", root.Ino, own.Ino)
	}
	if _, err := ns.Netlink().LinkByName("lo"); err != nil {
		t.Errorf("lo of %s: %v", ns.Name, err)
	}
}
