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
