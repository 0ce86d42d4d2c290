package namespace_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

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

// TestExamine: every kind of thing a name under /run/netns can be, looked at
// without following links, and Delete of a link leaves what it points to.
func TestExamine(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	name := func(s string) string { return inst + "-" + s }
	t.Cleanup(func() {
		for _, s := range []string{"marked", "plain", "empty", "link", "dir", "covered"} {
			unix.Unmount(namespace.Path(name(s)), unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
			os.Remove(namespace.Path(name(s)))
		}
	})
	marked, err := namespace.Create(name("marked"), "xdplab:"+inst+":lab")
	if err != nil {
		t.Fatal(err)
	}
	marked.Close()
	plain, err := namespace.Create(name("plain"), "")
	if err != nil {
		t.Fatal(err)
	}
	plain.Close()
	// What a Create killed between its placeholder and its mount leaves.
	if err := os.WriteFile(namespace.Path(name("empty")), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(namespace.Path(name("marked")), namespace.Path(name("link"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(namespace.Path(name("dir")), 0o755); err != nil {
		t.Fatal(err)
	}
	// An empty file with another empty file mounted on it is not a placeholder.
	cover := filepath.Join(t.TempDir(), "cover")
	os.WriteFile(cover, nil, 0o644)
	os.WriteFile(namespace.Path(name("covered")), nil, 0o444)
	if err := unix.Mount(cover, namespace.Path(name("covered")), "none", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		want namespace.Entry
	}{
		{"missing", namespace.Entry{Kind: namespace.Missing}},
		{"marked", namespace.Entry{Kind: namespace.Mounted, Mark: "xdplab:" + inst + ":lab"}},
		{"plain", namespace.Entry{Kind: namespace.Mounted}},
		{"empty", namespace.Entry{Kind: namespace.Placeholder}},
		{"link", namespace.Entry{Kind: namespace.Other, Link: true}},
		{"dir", namespace.Entry{Kind: namespace.Other}},
		{"covered", namespace.Entry{Kind: namespace.Other}},
	} {
		c.want.Name = name(c.name)
		got, err := namespace.Examine(name(c.name))
		if err != nil || got != c.want {
			t.Errorf("Examine(%s) = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	if _, err := namespace.Open(name("link")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Open of a link: %v", err)
	}
	if err := namespace.Delete(name("link")); err != nil {
		t.Fatal(err)
	}
	if e, _ := namespace.Examine(name("marked")); e.Kind != namespace.Mounted {
		t.Errorf("deleting a link to a namespace unmounted it: %+v", e)
	}
}
