package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/topology"
)

// redirectSnapshot is what `check redirect` changes for a moment, read with
// ip and bpftool as witnesses independent of xdplab: the programs on
// node1's interfaces, if_redirect, node1's neighbours, and the records in
// the instance's state directory besides its state and lock.
func redirectSnapshot(t *testing.T, inst string) string {
	t.Helper()
	node1 := topology.NamespaceName(inst, "redirect", "node1")
	prog := regexp.MustCompile(`prog/xdp id \d+`)
	var s []string
	for _, iface := range []string{"veth1", "veth2"} {
		s = append(s, iface+": "+prog.FindString(run(t, "ip", "-n", node1, "link", "show", iface)))
	}
	s = append(s, run(t, "ip", "-n", node1, "-4", "neigh", "show"))
	s = append(s, run(t, "bpftool", "map", "dump", "pinned", filepath.Join("/sys/fs/bpf/xdplab", inst, "redirect", "if_redirect")))
	entries, _ := os.ReadDir(filepath.Join("/run/xdplab", inst))
	for _, e := range entries {
		if n := e.Name(); n != "lock" && n != "redirect.json" {
			s = append(s, "record "+n)
		}
	}
	slices.Sort(s)
	return strings.Join(s, "\n")
}

// TestRedirectCheckKillSweep SIGKILLs `check redirect` at points across its
// whole run, while xdp_pass is in node1's links, if_redirect is empty or
// node1's neighbour entry for the host is gone; the next command (check
// again) must take the change back before it does anything, pass, and leave
// the lab exactly as up made it. XDPLAB_LONG=1 sweeps every 20 ms.
func TestRedirectCheckKillSweep(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "bpftool")
	requireTool(t, "ip")
	step := 150 * time.Millisecond
	if os.Getenv("XDPLAB_LONG") == "1" {
		step = 20 * time.Millisecond
	}
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "redirect"))
	base := redirectSnapshot(t, inst)
	if !strings.Contains(base, "PERMANENT") || strings.Count(base, "prog/xdp id") != 2 {
		t.Fatalf("the lab is not as up makes it:\n%s", base)
	}
	check := []string{"check", "redirect", "--instance", inst}
	full := duration(t, check...)
	if got := redirectSnapshot(t, inst); got != base {
		t.Fatalf("an uninterrupted check changed the lab:\nbefore\n%s\nafter\n%s", base, got)
	}
	var points, undone int
	for at := time.Duration(0); at <= full+step; at += step {
		points++
		killAt(t, at, check...)
		r := xdplab(t, inst, "check", "redirect")
		if r.code != 0 {
			t.Fatalf("check after one killed at %v of %v: %s", at, full, r)
		}
		if strings.Contains(r.stderr, "took back the temporary changes of an interrupted check of redirect") {
			undone++
		}
		if got := redirectSnapshot(t, inst); got != base {
			t.Fatalf("check killed at %v of %v, then check: the lab changed:\nbefore\n%s\nafter\n%s", at, full, base, got)
		}
	}
	if undone == 0 {
		t.Errorf("none of %d kills left a change to take back: the sweep missed the check's phases", points)
	}
	t.Logf("%d kill points every %v across %v; %d left an undo record the next check took back", points, step, full, undone)
}
