package namespace_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
)

// TestOpenOwn: xdplab's own namespace opens, with its lo, and it is the one
// the tests run in (the machine's own), as a child process started now
// sees it. /proc/self would not do: it is the process's main thread, which
// an earlier test's Do may have left wedged in a lab's namespace (a thread
// that cannot switch back is never reused, and the main thread never ends).
func TestOpenOwn(t *testing.T) {
	testutils.RequirePrivileged(t)
	ns, err := namespace.OpenOwn()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	out, err := exec.Command("readlink", "/proc/self/ns/net").Output()
	if err != nil {
		t.Fatal(err)
	}
	var opened unix.Stat_t
	if err := unix.Fstat(ns.Fd(), &opened); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("net:[%d]", opened.Ino); strings.TrimSpace(string(out)) != want {
		t.Errorf("OpenOwn opened %s, the tests run in %s", want, strings.TrimSpace(string(out)))
	}
	if _, err := ns.Netlink().LinkByName("lo"); err != nil {
		t.Errorf("lo of %s: %v", ns.Name, err)
	}
}
