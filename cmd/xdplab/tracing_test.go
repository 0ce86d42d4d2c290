package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/tracing"
)

// tracingLinks are the ids of the links on the machine whose program is
// named prog: a tracing lab's, whoever's instance. A link another process
// is creating at that moment makes the kernel answer EAGAIN for its id:
// the listing is then taken again.
func tracingLinks(t *testing.T, prog string) []link.ID {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ids, err := linksOf(prog)
		if err == nil {
			return ids
		}
		if !errors.Is(err, unix.EAGAIN) || attempt == 20 {
			t.Fatalf("list links: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func linksOf(prog string) ([]link.ID, error) {
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
	return ids, it.Err()
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

// TestKillTracingLab kills `up` of each tracing lab at many points, then
// `check` and `watch` while they run: a tracing program left attached
// would slow every process of the machine. After each kill every link of
// the lab's program that appeared is the instance's pinned one (a link not
// yet pinned dies with the process), and after `down` none is left, nor any
// trace buffer.
func TestKillTracingLab(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, lab := range []struct{ name, prog string }{{"hello", "trace_clone"}, {"tcp_connect", "tcp_connect"}} {
		t.Run(lab.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			before := tracingLinks(t, lab.prog)
			pin := filepath.Join("/sys/fs/bpf/xdplab", inst, lab.name, "link_"+lab.prog)
			// attachedOnlyPinned fails unless every link of the program that
			// was not there before the test is the one pinned at pin.
			attachedOnlyPinned := func(when string) {
				t.Helper()
				pinned := pinnedLink(pin)
				for _, id := range tracingLinks(t, lab.prog) {
					if !slices.Contains(before, id) && id != pinned {
						t.Fatalf("%s: link %d of %s is attached and pinned nowhere", when, id, lab.prog)
					}
				}
			}
			down := func(when string) {
				t.Helper()
				if r := xdplab(t, inst, "down"); r.code != 0 {
					t.Fatalf("down %s: %s", when, r)
				}
				for _, id := range tracingLinks(t, lab.prog) {
					if !slices.Contains(before, id) {
						t.Fatalf("%s and down: link %d of %s is still attached", when, id, lab.prog)
					}
				}
				if left := testutils.Leftovers(inst); len(left) > 0 {
					t.Fatalf("%s and down: %v", when, left)
				}
			}
			for delay := time.Duration(0); delay <= 40*time.Millisecond; delay += 2 * time.Millisecond {
				cmd := exec.Command(bin, "up", lab.name, "--instance", inst)
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
			for _, args := range [][]string{{"check", lab.name}, {"watch", lab.name}} {
				mustSucceed(t, xdplab(t, inst, "up", lab.name))
				cmd := exec.Command(bin, append(args, "--instance", inst)...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(60 * time.Millisecond) // its trace buffer or rings made, its calls under way
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				when := strings.Join(args, " ") + " killed"
				attachedOnlyPinned(when)
				down(when)
			}
		})
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
