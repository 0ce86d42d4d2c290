package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/course"
)

// killAt starts xdplab with args, SIGKILLs it after d and waits for it.
func killAt(t *testing.T, d time.Duration, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	cmd.Process.Kill()
	cmd.Wait()
}

// duration measures one uninterrupted run of a command, to spread the kill
// points over its whole length.
func duration(t *testing.T, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(bin, args...)
	if c := strings.Join(args, " "); strings.HasPrefix(c, "watch") || strings.HasPrefix(c, "capture") {
		// Commands that run until stopped: give them a second.
		cmd.Start()
		time.Sleep(time.Second)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		return time.Second
	}
	cmd.Run()
	return time.Since(start)
}

// TestKillAnywhere is the fault harness: each long-running command is killed
// at 20 random moments spread over its run; `down` must then leave nothing.
// Labs rotate through the points so every lab's up and check is hit.
func TestKillAnywhere(t *testing.T) {
	testutils.RequirePrivileged(t)
	labNames := course.Registry().Names()
	const points = 20
	type command struct {
		name  string
		needs bool // the lab must be up first
		args  func(lab string) []string
	}
	commands := []command{
		{"up", false, func(lab string) []string { return []string{"up", lab} }},
		{"check", true, func(lab string) []string { return []string{"check", lab} }},
		{"run", false, func(lab string) []string { return []string{"run", lab} }},
		{"watch", true, func(lab string) []string { return []string{"watch", lab} }},
	}
	if exec.Command(bin, "help", "capture").Run() == nil {
		commands = append(commands, command{"capture", true, func(string) []string {
			return []string{"capture", "xdpcap", "-w", os.DevNull}
		}})
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			for i := range points {
				lab := labNames[i%len(labNames)]
				if c.name == "capture" {
					lab = "xdpcap"
				}
				args := append(c.args(lab), "--instance", inst)
				if c.needs {
					mustSucceed(t, xdplab(t, inst, "up", lab))
				}
				full := duration(t, args...)
				if !c.needs {
					xdplab(t, inst, "down") // duration() ran up or run to completion
				}
				at := time.Duration(rng.Int64N(int64(full) + 1))
				killAt(t, at, args...)
				r := xdplab(t, inst, "down")
				if r.code != 0 {
					t.Fatalf("down after %s %s killed at %v: %s", c.name, lab, at, r)
				}
				if left := testutils.Leftovers(inst); len(left) > 0 {
					t.Fatalf("after %s %s killed at %v of %v and down: %v", c.name, lab, at, full, left)
				}
			}
		})
	}
}

// TestDownWithBrokenState: down cleans up when the state file is corrupt or
// gone, from the namespace prefix and the pin directory alone.
func TestDownWithBrokenState(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, breakIt := range []struct {
		name string
		do   func(path string)
	}{
		{"corrupt", func(p string) { os.WriteFile(p, []byte("{\"lab\": trunc"), 0o644) }},
		{"missing", func(p string) { os.Remove(p) }},
		{"empty", func(p string) { os.WriteFile(p, nil, 0o644) }},
	} {
		t.Run(breakIt.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
			breakIt.do(filepath.Join("/run/xdplab", inst, "packet_counter.json"))
			if breakIt.name == "corrupt" {
				r := xdplab(t, inst, "check")
				if r.code != 2 || !strings.Contains(r.stderr, "corrupt state file") || !strings.Contains(r.stderr, "xdplab down packet_counter --instance "+inst) {
					t.Errorf("check with a corrupt state file: %s", r)
				}
			}
			mustSucceed(t, xdplab(t, inst, "down"))
		})
	}
}

// TestBPFFSUnmountedBetweenUpAndDown runs in a private mount namespace with
// its own bpffs, unmounts it after up (dropping the pins and so the
// programs), and expects down to clean up all the same.
func TestBPFFSUnmountedBetweenUpAndDown(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "unshare")
	inst := testutils.Instance(t)
	script := `set -e
mount -t bpf bpf /sys/fs/bpf
"$0" up packet_counter --instance "$1" >/dev/null
umount /sys/fs/bpf
"$0" down --instance "$1"`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, bin, inst)
	r := xdplabCmd(t, cmd)
	if r.code != 0 || !strings.Contains(r.stdout, "removed packet_counter") {
		t.Fatalf("up, umount bpffs, down: %s", r)
	}
}

// TestDownLeavesOthersAlone: down --all removes the instance's own
// namespaces and nothing else, even names that share a prefix with it.
func TestDownLeavesOthersAlone(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	other := inst + "x" // "<inst>x-..." must survive "<inst>-..."'s sweep
	t.Cleanup(func() { testutils.Scrub(other) })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	mustSucceed(t, xdplab(t, other, "up", "packet_counter"))
	foreign := []string{inst + "_foreign", "xdplabtest" + inst, inst}
	for _, n := range foreign {
		ns, err := namespace.Create(n, "")
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
		t.Cleanup(func() { namespace.Delete(n) })
	}
	mustSucceed(t, xdplab(t, inst, "down", "--all"))
	for _, n := range foreign {
		if !namespace.Exists(n) {
			t.Errorf("down --all of %s deleted %s", inst, n)
		}
	}
	mustSucceed(t, xdplab(t, other, "check")) // the other instance still works
	mustSucceed(t, xdplab(t, other, "down"))
}

// TestIPNetnsAddAfterUp: a learner's own `ip netns add` after `up` must not
// hide the lab's namespaces from `down` (iproute2 bind-mounts /run/netns
// onto itself the first time it finds it is not a mount point). It runs in a
// private mount namespace with a fresh /run, so /run/netns starts as a plain
// directory as on a machine that just booted.
func TestIPNetnsAddAfterUp(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "unshare")
	inst := testutils.Instance(t)
	script := `set -e
mount -t tmpfs tmpfs /run
"$0" up packet_counter --instance "$1" >/dev/null
ip netns add "$1"_learner
"$0" down --instance "$1"
ip netns del "$1"_learner
ls /run/netns`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, bin, inst)
	r := xdplabCmd(t, cmd)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "removed packet_counter (instance "+inst+")" {
		t.Fatalf("up, ip netns add, down: %s", r)
	}
}

// TestCaptureEndsWithItsLab: a capture still running when its lab is taken
// down ends by itself (its hook pin is gone), leaving a valid file, instead
// of holding programs for a lab that no longer exists.
func TestCaptureEndsWithItsLab(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	mustSucceed(t, xdplab(t, inst, "up", "xdpcap"))
	file := filepath.Join(t.TempDir(), "c.pcapng")
	stderr := &testutils.SyncBuffer{}
	cmd := exec.Command(bin, "capture", "xdpcap", "--instance", inst, "-w", file)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	testutils.WaitFor(t, stderr, "Ctrl-C stops")
	mustSucceed(t, xdplab(t, inst, "down"))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("capture exited with %v:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second): // a liveness bound, not a timing
		cmd.Process.Kill()
		t.Fatalf("capture still running 30 s after down:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "the lab was taken down") {
		t.Errorf("capture did not say why it ended:\n%s", stderr.String())
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("no capture file: %v", err)
	}
}

// TestCaptureEndsWhenReaderGoes: `capture -w - | tcpdump -c 1` on an idle lab
// must not run forever after tcpdump exits: no packet comes to hit EPIPE, so
// the capture notices the closed pipe itself.
func TestCaptureEndsWhenReaderGoes(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	mustSucceed(t, xdplab(t, inst, "up", "xdpcap"))
	t.Cleanup(func() { xdplab(t, inst, "down") })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testutils.SyncBuffer{}
	cmd := exec.Command(bin, "capture", "xdpcap", "--instance", inst, "-w", "-", "icmp")
	cmd.Stdout, cmd.Stderr = w, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	testutils.WaitFor(t, stderr, "Ctrl-C stops")
	r.Close() // the reader goes away without reading a packet
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("capture exited with %v:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second): // a liveness bound, not a timing
		cmd.Process.Kill()
		t.Fatalf("capture still running 30 s after its reader left:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "reader of the capture stream went away") {
		t.Errorf("capture did not say why it ended:\n%s", stderr.String())
	}
}
