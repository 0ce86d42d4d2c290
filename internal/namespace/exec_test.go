package namespace_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
)

// execHelper, set in the environment, makes the test binary a child that
// replaces itself with readlink inside the named namespace (TestExec).
const execHelper = "XDPLAB_NAMESPACE_EXEC_HELPER"

func TestMain(m *testing.M) {
	if name := os.Getenv(execHelper); name != "" {
		ns, err := namespace.Open(name)
		if err == nil {
			var path string
			if path, err = exec.LookPath("readlink"); err == nil {
				err = ns.Exec(path, []string{"readlink", "/proc/self/ns/net"}, os.Environ())
			}
		}
		fmt.Fprintln(os.Stderr, "exec helper:", err) // Exec returned: it failed
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// TestExec: the program Exec starts runs inside the namespace (its
// /proc/self/ns/net is the namespace's), and the calling process's own
// namespace never changed before it was replaced.
func TestExec(t *testing.T) {
	testutils.RequirePrivileged(t)
	name := testutils.Instance(t) + "-ns-exec"
	ns, err := namespace.Create(name, "")
	if err != nil {
		t.Fatal(err)
	}
	defer namespace.Delete(name)
	defer ns.Close()
	var st unix.Stat_t
	if err := unix.Stat(namespace.Path(name), &st); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), execHelper+"="+name)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), fmt.Sprintf("net:[%d]", st.Ino); got != want {
		t.Errorf("the exec'd program runs in %s, want %s (the namespace %s)", got, want, name)
	}
}
