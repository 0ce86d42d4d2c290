// Package testutils holds what privileged tests share: the root gate, unique
// instance names and leak checks.
package testutils

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/tracing"
)

// RequirePrivileged skips a test that needs root, or fails it when
// XDPLAB_REQUIRE_PRIVILEGED=1 (CI), so a privileged test can never silently
// not run there.
func RequirePrivileged(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		if _, err := os.Stat("/sys/fs/bpf"); err != nil {
			tb.Fatalf("bpffs directory missing: %v", err)
		}
		return
	}
	if os.Getenv("XDPLAB_REQUIRE_PRIVILEGED") == "1" {
		tb.Fatal("this test needs root (XDPLAB_REQUIRE_PRIVILEGED=1)")
	}
	tb.Skip("needs root; run with sudo or set XDPLAB_REQUIRE_PRIVILEGED=1 in CI")
}

// Instance returns a fresh instance name for one test ("t" + 8 hex digits) and
// registers a cleanup that fails the test if any namespace or pin of that
// instance is left when the test ends.
func Instance(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	inst := "t" + hex.EncodeToString(b)
	tb.Cleanup(func() { AssertClean(tb, inst) })
	return inst
}

// Leftovers lists the namespaces, pins and state files of an instance.
func Leftovers(inst string) []string {
	var left []string
	names, _ := namespace.List(inst + "-")
	for _, n := range names {
		left = append(left, "namespace "+n)
	}
	for _, dir := range []string{
		filepath.Join("/sys/fs/bpf/xdplab", inst),
		filepath.Join("/run/xdplab", inst),
	} {
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && !strings.HasSuffix(p, "/lock") {
				left = append(left, p)
			}
			return nil
		})
	}
	// A check or watch of a tracing lab keeps a trace buffer while it runs.
	for _, b := range tracing.Buffers(tracing.Prefix(inst, "")) {
		left = append(left, "trace buffer "+b)
	}
	return left
}

// AssertClean fails the test if the instance left anything behind, and then
// removes it so one failure does not spill into other tests.
func AssertClean(tb testing.TB, inst string) {
	tb.Helper()
	left := Leftovers(inst)
	if len(left) > 0 {
		tb.Errorf("instance %s left behind: %v", inst, left)
	}
	Scrub(inst)
}

// Scrub removes everything of an instance without judging.
func Scrub(inst string) {
	names, _ := namespace.List(inst + "-")
	for _, n := range names {
		namespace.Delete(n)
	}
	os.RemoveAll(filepath.Join("/sys/fs/bpf/xdplab", inst))
	os.RemoveAll(filepath.Join("/run/xdplab", inst))
	tracing.RemoveBuffers(tracing.Prefix(inst, ""))
	os.Remove("/sys/fs/bpf/xdplab")
	os.Remove("/run/xdplab")
}

// Report is the part of labs.Report that RequirePass reads (testutils cannot
// import labs: labs' own tests use testutils).
type Report interface {
	Describe() (lab string, pass bool, text string)
}

// RequirePass fails the test, with every expectation printed, unless all
// reports passed.
func RequirePass[R Report](tb testing.TB, reports []R) {
	tb.Helper()
	if len(reports) == 0 {
		tb.Fatal("no reports")
	}
	for _, r := range reports {
		lab, pass, text := r.Describe()
		if !pass {
			tb.Errorf("lab %s failed:\n%s", lab, text)
		}
	}
}

// RequireTool skips a test whose witness tool is not installed, or fails it
// when XDPLAB_REQUIRE_PRIVILEGED=1 (CI), where provisioning installs it.
func RequireTool(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("XDPLAB_REQUIRE_PRIVILEGED") == "1" {
			tb.Fatalf("%s is needed as a witness (scripts/provision.sh installs it)", name)
		}
		tb.Skipf("%s not installed", name)
	}
}

// NetnsInode identifies a named network namespace: the same inode is the
// same namespace, not one made again under its name.
func NetnsInode(tb testing.TB, name string) uint64 {
	tb.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(namespace.Path(name), &st); err != nil {
		tb.Fatal(err)
	}
	return st.Ino
}
