package doctor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
)

// TestRunOnThisMachine: the machines the labs run on pass every item; the
// report names each item and gives a fix only where one is needed.
func TestRunOnThisMachine(t *testing.T) {
	testutils.RequirePrivileged(t)
	items := Run(false)
	if Failed(items) {
		var b bytes.Buffer
		Write(&b, items)
		t.Fatalf("doctor fails on a machine that runs the labs:\n%s", b.String())
	}
	names := map[string]bool{}
	for _, it := range items {
		names[it.Name] = true
	}
	for _, want := range []string{"kernel", "BTF", "privileges", "bpffs", "BPF JIT", "program type XDP", "map type LPMTrie", "network namespaces"} {
		if !names[want] {
			t.Errorf("no %q item in %v", want, names)
		}
	}
}

func TestWriteShowsFixes(t *testing.T) {
	var b bytes.Buffer
	Write(&b, []Item{
		{Name: "bpffs", Level: Fail, Detail: "not mounted at /sys/fs/bpf", Fix: "sudo mount -t bpf bpf /sys/fs/bpf"},
		{Name: "BTF", Level: OK, Detail: "/sys/kernel/btf/vmlinux", Fix: "never shown"},
	})
	out := b.String()
	if !strings.Contains(out, "fail  bpffs") || !strings.Contains(out, "fix: sudo mount -t bpf bpf /sys/fs/bpf") {
		t.Errorf("failure without its fix:\n%s", out)
	}
	if strings.Contains(out, "never shown") {
		t.Errorf("fix shown for an ok item:\n%s", out)
	}
	if !Failed([]Item{{Level: Warn}, {Level: Fail}}) || Failed([]Item{{Level: Warn}}) {
		t.Error("Failed counts warnings or misses failures")
	}
}

// TestWithoutPrivileges: without the capabilities, doctor says "run with
// sudo" once, in the privileges item, and probes no program or map type:
// each probe would fail with EPERM and blame the kernel.
func TestWithoutPrivileges(t *testing.T) {
	items := run(Item{Name: "privileges", Level: Fail, Detail: "missing CAP_BPF", Fix: "run with sudo: `sudo xdplab doctor`"}, false)
	var b bytes.Buffer
	Write(&b, items)
	out := b.String()
	if n := strings.Count(out, "run with sudo"); n != 1 {
		t.Errorf("\"run with sudo\" is said %d times, want once:\n%s", n, out)
	}
	if strings.Contains(out, "program type") || strings.Contains(out, "map type ") || strings.Contains(out, "operation not permitted") {
		t.Errorf("types were probed without privileges:\n%s", out)
	}
	if !strings.Contains(out, "skip  program and map types") || !strings.Contains(out, "not checked: probing them needs the privileges above") {
		t.Errorf("no item says the types were not checked:\n%s", out)
	}
	if !Failed(items) {
		t.Error("doctor without privileges passes")
	}
	if Failed([]Item{{Level: Skip}}) {
		t.Error("a skipped item counts as a failure")
	}
}
