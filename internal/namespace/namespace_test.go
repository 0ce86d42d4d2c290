package namespace_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
)

func netnsLink(t *testing.T) string {
	t.Helper()
	l, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLifecycle: create, enter, read a sysctl, delete twice; the caller's
// own thread never changes namespace.
func TestLifecycle(t *testing.T) {
	testutils.RequirePrivileged(t)
	name := testutils.Instance(t) + "-ns-test"
	outside := netnsLink(t)

	ns, err := namespace.Create(name, "xdplab:test:lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	defer namespace.Delete(name)
	if !namespace.Exists(name) {
		t.Fatal("created namespace does not exist")
	}
	if e, err := namespace.Examine(name); err != nil || e.Kind != namespace.Mounted || e.Mark != "xdplab:test:lifecycle" {
		t.Errorf("Examine = %+v, %v; want a mounted namespace with its mark", e, err)
	}
	if _, err := namespace.Create(name, ""); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create: %v", err)
	}
	var inside string
	if err := ns.Do(func() error { inside = netnsLink(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside == outside {
		t.Errorf("Do ran in the caller's namespace %s", inside)
	}
	if got := netnsLink(t); got != outside {
		t.Errorf("caller moved to %s", got)
	}
	if err := ns.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	if v, err := ns.ReadSysctl("net.ipv4.ip_forward"); err != nil || v != "1" {
		t.Errorf("ip_forward inside = %q, %v", v, err)
	}
	wantErr := errors.New("from fn")
	if err := ns.Do(func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("Do lost fn's error: %v", err)
	}
	names, err := namespace.List(name)
	if err != nil || len(names) != 1 {
		t.Errorf("List(%q) = %v, %v", name, names, err)
	}
	ns.Close()
	for range 2 {
		if err := namespace.Delete(name); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	if namespace.Exists(name) {
		t.Error("namespace still exists after delete")
	}
	if _, err := namespace.Open(name); !errors.Is(err, namespace.ErrNotFound) {
		t.Errorf("open after delete: %v", err)
	}
}
