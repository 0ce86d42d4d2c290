package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/tracing"
)

// tracingLinks are the ids of the links on the machine whose program is
// named prog: a tracing lab's, whoever's instance.
func tracingLinks(t *testing.T, prog string) []link.ID {
	t.Helper()
	var ids []link.ID
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		l := it.Take()
		info, err := l.Info()
		l.Close()
		if err != nil {
			continue // gone since it was listed
		}
		p, err := ebpf.NewProgramFromID(info.Program)
		if err != nil {
			continue
		}
		pi, err := p.Info()
		p.Close()
		if err == nil && pi.Name == prog {
			ids = append(ids, info.ID)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("list links: %v", err)
	}
	return ids
}

// pinnedLink is the id of the link pinned at path, or 0.
func pinnedLink(path string) link.ID {
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		return 0
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		return 0
	}
	return info.ID
}

// TestKillTracingLab kills `up hello` at many points, then `check` and
// `watch` while they run: a tracing program left attached would slow
// every process of the machine. After each kill every trace_clone link
// that appeared is the instance's pinned one (a link not yet pinned dies
// with the process), and after `down` none is left, nor any trace buffer.
func TestKillTracingLab(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	before := tracingLinks(t, "trace_clone")
	pin := filepath.Join("/sys/fs/bpf/xdplab", inst, "hello", "link_trace_clone")
	// attachedOnlyPinned fails unless every trace_clone link that was not
	// there before the test is the one pinned at pin.
	attachedOnlyPinned := func(when string) {
		t.Helper()
		pinned := pinnedLink(pin)
		for _, id := range tracingLinks(t, "trace_clone") {
			if !slices.Contains(before, id) && id != pinned {
				t.Fatalf("%s: link %d of trace_clone is attached and pinned nowhere", when, id)
			}
		}
	}
	down := func(when string) {
		t.Helper()
		if r := xdplab(t, inst, "down"); r.code != 0 {
			t.Fatalf("down %s: %s", when, r)
		}
		for _, id := range tracingLinks(t, "trace_clone") {
			if !slices.Contains(before, id) {
				t.Fatalf("%s and down: link %d of trace_clone is still attached", when, id)
			}
		}
		if left := testutils.Leftovers(inst); len(left) > 0 {
			t.Fatalf("%s and down: %v", when, left)
		}
	}
	for delay := time.Duration(0); delay <= 30*time.Millisecond; delay += 2 * time.Millisecond {
		cmd := exec.Command(bin, "up", "hello", "--instance", inst)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		when := "up killed after " + delay.String()
		attachedOnlyPinned(when)
		down(when)
	}
	for _, args := range [][]string{{"check", "hello"}, {"watch", "hello"}} {
		mustSucceed(t, xdplab(t, inst, "up", "hello"))
		cmd := exec.Command(bin, append(args, "--instance", inst)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond) // its trace buffer made, its calls under way
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		when := strings.Join(args, " ") + " killed"
		attachedOnlyPinned(when)
		down(when)
	}
}

// TestTracefsMountedWhenMissing: on a machine that booted without tracefs
// (here a mount namespace of the test's own where it is unmounted), run
// mounts it, says so, and passes.
func TestTracefsMountedWhenMissing(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "unshare")
	inst := testutils.Instance(t)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`umount /sys/kernel/tracing && "$0" run hello --instance "$1"`, bin, inst)
	r := xdplabCmd(t, cmd)
	wantExit(t, r, 0, "stderr", r.stderr, "tracefs was not mounted: mounted it at /sys/kernel/tracing (hello's programs need it)")
}

// TestKprobeRefused: a kprobe-style object on a kernel without kprobes is
// refused with the tracepoint variant named, exit 2, nothing built.
func TestKprobeRefused(t *testing.T) {
	testutils.RequirePrivileged(t)
	if ok, _ := tracing.Kprobes(); ok {
		t.Skip("this kernel has kprobes: labs/hello TestKprobeObject grades the object")
	}
	inst := testutils.Instance(t)
	r := xdplab(t, inst, "up", "hello", "--obj", "../../labs/hello/testdata/hello_kprobe.o")
	wantError(t, r, `trace_clone is a kprobe program (SEC("kprobe/__x64_sys_clone"))`, "this kernel has no kprobes",
		`SEC("tracepoint/syscalls/sys_enter_clone")`)
}
