package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/course"
)

// handmade makes a namespace the way a learner would, with `ip netns add`,
// and leaves a witness in it (the alias of its lo) to tell it from any
// namespace made later under the same name. The test removes it at the end.
func handmade(t *testing.T, name string) {
	t.Helper()
	t.Cleanup(func() { namespace.Delete(name) })
	run(t, "ip", "netns", "add", name)
	run(t, "ip", "-n", name, "link", "set", "lo", "alias", "witness")
}

// intact asserts that a handmade namespace is still there, mounted, and is
// the same one.
func intact(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("ip", "-n", name, "link", "show", "lo").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "alias witness") {
		t.Errorf("namespace %s is not intact: %v\n%s", name, err, out)
	}
}

// TestDownLeavesForeignNamespaces: down deletes only what xdplab created.
// A link in /run/netns with the instance's prefix, pointing to a namespace of
// another name, and namespaces made by hand with the instance's (and the
// lab's) prefix all survive `down <lab>` and `down --all`.
func TestDownLeavesForeignNamespaces(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	target := inst + "_target"
	handmade(t, target)
	link := namespace.Path(inst + "-x")
	if err := os.Symlink(namespace.Path(target), link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })
	mine, labs := inst+"-handmade", inst+"-packet_counter-handmade"
	handmade(t, mine)
	handmade(t, labs)

	r := mustSucceed(t, xdplab(t, inst, "down", "packet_counter"))
	for _, n := range []string{inst + "-packet_counter-host", inst + "-packet_counter-node1"} {
		if namespace.Exists(n) {
			t.Errorf("down packet_counter left its own %s", n)
		}
	}
	intact(t, labs)
	if !strings.Contains(r.stderr, "left "+namespace.Path(labs)+" alone") {
		t.Errorf("down does not say what it left alone:\n%s", r)
	}

	r = mustSucceed(t, xdplab(t, inst, "down", "--all"))
	for _, n := range []string{target, mine, labs} {
		intact(t, n)
	}
	if dest, err := os.Readlink(link); err != nil || dest != namespace.Path(target) {
		t.Errorf("the link is gone or changed: %q, %v", dest, err)
	}
	for _, n := range []string{link, namespace.Path(mine), namespace.Path(labs)} {
		if !strings.Contains(r.stderr, "left "+n+" alone") {
			t.Errorf("down --all does not say it left %s alone:\n%s", n, r)
		}
	}
}

// TestUpRefusesForeignNamespace: up never adopts nor replaces a namespace
// with one of the lab's names that xdplab did not create; it says which and
// how to fix it, and creates nothing.
func TestUpRefusesForeignNamespace(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, c := range []struct {
		name  string
		make  func(t *testing.T, inst, ns string)
		taken string // the node whose name is taken
		want  func(inst, ns string) string
	}{
		{"ip netns add", func(t *testing.T, inst, ns string) { handmade(t, ns) }, "host", func(inst, ns string) string {
			return "namespace " + ns + " exists and was not created by xdplab: remove it (`ip netns del " + ns + "`) or choose another --instance"
		}},
		{"link", func(t *testing.T, inst, ns string) {
			handmade(t, inst+"_target")
			os.Symlink(namespace.Path(inst+"_target"), namespace.Path(ns))
			t.Cleanup(func() { os.Remove(namespace.Path(ns)) })
		}, "node1", func(inst, ns string) string {
			return namespace.Path(ns) + " is a symbolic link, not created by xdplab: remove the link (`rm " + namespace.Path(ns) + "`"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			ns := inst + "-packet_counter-" + c.taken
			c.make(t, inst, ns)
			wantError(t, xdplab(t, inst, "up", "packet_counter"), c.want(inst, ns))
			if c.name == "link" {
				intact(t, inst+"_target")
				if _, err := os.Readlink(namespace.Path(ns)); err != nil {
					t.Errorf("the link is gone: %v", err)
				}
			} else {
				intact(t, ns)
			}
			// Nothing was created: no other namespace, no state, no pins.
			if left := testutils.Leftovers(inst); len(left) != 1 || left[0] != "namespace "+ns {
				t.Errorf("up left %v", left)
			}
			for _, p := range []string{filepath.Join("/run/xdplab", inst), filepath.Join("/sys/fs/bpf/xdplab", inst)} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("up created %s", p)
				}
			}
		})
	}
}

// TestStateLinksRefused: a link as the lock, the instance's state directory,
// a state file or the instance's pin directory is refused by every command
// that would go through it, naming it, and what it points to is unchanged.
func TestStateLinksRefused(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, c := range []struct {
		name string
		link func(inst string) string
	}{
		{"lock", func(inst string) string { return filepath.Join("/run/xdplab", inst, "lock") }},
		{"state directory", func(inst string) string { return filepath.Join("/run/xdplab", inst) }},
		{"state file", func(inst string) string { return filepath.Join("/run/xdplab", inst, "packet_counter.json") }},
		{"pin directory", func(inst string) string { return filepath.Join("/sys/fs/bpf/xdplab", inst) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			t.Cleanup(func() { xdplab(t, inst, "down") })
			// The target: a directory with a file and a lab directory in it,
			// so that whatever the link stands for has something to hit.
			target := t.TempDir()
			victim := filepath.Join(target, "victim")
			os.WriteFile(victim, []byte("precious\n"), 0o644)
			os.MkdirAll(filepath.Join(target, "packet_counter"), 0o755)
			os.WriteFile(filepath.Join(target, "packet_counter", "victim"), []byte("precious\n"), 0o644)
			snapshot := func() string { return run(t, "ls", "-lR", "--time-style=full-iso", target) }
			before := snapshot()

			link := c.link(inst)
			os.MkdirAll(filepath.Dir(link), 0o755)
			dest := target
			if c.name == "lock" || c.name == "state file" {
				dest = victim
			}
			if err := os.Symlink(dest, link); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(link) })

			for _, args := range [][]string{{"up", "packet_counter"}, {"down"}, {"down", "packet_counter"}, {"status"}, {"list"}} {
				wantError(t, xdplab(t, inst, args...), link+" is a symbolic link (to "+dest+")", "rm "+link)
			}
			if after := snapshot(); after != before {
				t.Errorf("the link's target changed:\nbefore\n%s\nafter\n%s", before, after)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("victim now holds %q", b)
			}
			if names, _ := namespace.List(inst + "-"); len(names) > 0 {
				t.Errorf("namespaces were created: %v", names)
			}
		})
	}
}

// TestDamagedState: with the state file corrupt, cut short, empty, stuck in
// the deploying phase or deleted (or a namespace gone) while the lab's
// namespaces and program are still there, status and list show what is
// really there, call the lab damaged with the fix, and exit 2; the fix works.
func TestDamagedState(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, inst, path string)
		why    string
	}{
		{"corrupt", func(t *testing.T, inst, p string) { os.WriteFile(p, []byte(`{"lab": trunc`), 0o644) }, "corrupt state file "},
		{"truncated", func(t *testing.T, inst, p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "unexpected end of JSON input"},
		{"empty", func(t *testing.T, inst, p string) { os.WriteFile(p, nil, 0o644) }, "corrupt state file "},
		{"deploying", func(t *testing.T, inst, p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"phase": "up"`, `"phase": "deploying"`, 1)), 0o644)
		}, "never finished (phase deploying)"},
		{"deleted", func(t *testing.T, inst, p string) { os.Remove(p) }, "is missing"},
		{"namespace gone", func(t *testing.T, inst, p string) {
			run(t, "ip", "netns", "del", inst+"-packet_counter-host")
		}, "but namespace " + "%s-packet_counter-host is gone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			t.Cleanup(func() { xdplab(t, inst, "down") })
			mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
			c.damage(t, inst, filepath.Join("/run/xdplab", inst, "packet_counter.json"))
			why := strings.ReplaceAll(c.why, "%s", inst)
			fix := "`xdplab down packet_counter --instance " + inst + "`, then `xdplab up packet_counter --instance " + inst + "`"

			st := xdplab(t, inst, "status")
			if st.code != 2 {
				t.Errorf("status exit %d, want 2", st.code)
			}
			wants := []string{
				"packet_counter (instance " + inst + ", damaged)", "problem: state damaged: ", why, "fix: " + fix,
				"node1 (netns " + inst + "-packet_counter-node1)", "map protocols", "pins: ",
			}
			if c.name != "namespace gone" { // veth1 went with its peer in host
				wants = append(wants, "xdp packet_count id")
			}
			for _, want := range wants {
				if !strings.Contains(st.stdout, want) {
					t.Errorf("status lacks %q\n%s", want, st)
				}
			}
			if js := xdplab(t, inst, "status", "--json"); js.code != 2 || !strings.Contains(js.stdout, `"state": "damaged"`) {
				t.Errorf("status --json:\n%s", js)
			}
			ls := xdplab(t, inst, "list")
			if ls.code != 2 {
				t.Errorf("list exit %d, want 2", ls.code)
			}
			if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\. packet_counter +damaged `, course.Registry().Number("packet_counter"))).MatchString(ls.stdout) ||
				!strings.Contains(ls.stdout, "packet_counter: state damaged: ") || !strings.Contains(ls.stdout, "fix: "+fix) {
				t.Errorf("list does not show packet_counter damaged with the fix:\n%s", ls)
			}
			if js := xdplab(t, inst, "list", "--json"); js.code != 2 || !strings.Contains(js.stdout, `"state": "damaged"`) {
				t.Errorf("list --json:\n%s", js)
			}

			// The fix it gives works.
			mustSucceed(t, xdplab(t, inst, "down", "packet_counter"))
			if left := testutils.Leftovers(inst); len(left) > 0 {
				t.Errorf("down left %v", left)
			}
			mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
			if ls := mustSucceed(t, xdplab(t, inst, "list")); !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\. packet_counter +up `, course.Registry().Number("packet_counter"))).MatchString(ls.stdout) {
				t.Errorf("list after the fix:\n%s", ls.stdout)
			}
			mustSucceed(t, xdplab(t, inst, "status"))
			mustSucceed(t, xdplab(t, inst, "down"))
		})
	}
}

// TestStatusWhileBusy: a lab in the deploying phase while another command
// holds the instance is being built, not damaged: status and list say so and
// exit 0; once the holder is gone, the same record is damaged.
func TestStatusWhileBusy(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	path := filepath.Join("/run/xdplab", inst, "packet_counter.json")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"phase": "up"`, `"phase": "deploying"`, 1)), 0o644)

	// This test stands in for an `up` in progress.
	lock, err := state.Store{Dir: state.DefaultDir, Instance: inst}.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st := mustSucceed(t, xdplab(t, inst, "status"))
	if want := fmt.Sprintf("packet_counter (instance %s): another xdplab command (pid %d) is changing it", inst, os.Getpid()); !strings.Contains(st.stdout, want) {
		t.Errorf("status while busy lacks %q:\n%s", want, st)
	}
	if ls := mustSucceed(t, xdplab(t, inst, "list")); !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\. packet_counter +busy `, course.Registry().Number("packet_counter"))).MatchString(ls.stdout) {
		t.Errorf("list while busy:\n%s", ls)
	}
	lock.Unlock()
	if st := xdplab(t, inst, "status"); st.code != 2 || !strings.Contains(st.stdout, "never finished (phase deploying)") {
		t.Errorf("status once the holder is gone:\n%s", st)
	}
}
