package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/labtest"
)

// These tests break the environment under a lab, never the learner's
// program: each fault must make check and run exit 2 with a report whose
// ERROR line names the cause and the fix, never a FAIL.

// errorSummary is the summary line of a report that could not be checked.
var errorSummary = regexp.MustCompile(`(?m)^  ERROR: could not check: .*; (\d+ of \d+ expectations met(, \d+ skipped)? before it stopped|no expectation was checked) \(`)

// wantCouldNotCheck asserts exit 2 and an ERROR summary line that holds
// every one of want, and no FAIL verdict.
func wantCouldNotCheck(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit code %d, want 2\n%s", r.code, r)
	}
	line := errorSummary.FindString(r.stdout)
	if line == "" {
		t.Fatalf("no ERROR summary line:\n%s", r)
	}
	line = r.stdout[strings.Index(r.stdout, line):]
	line = line[:strings.IndexByte(line, '\n')]
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("ERROR line lacks %q:\n%s", w, line)
		}
	}
	if strings.Contains(r.stdout, "  FAIL: ") {
		t.Errorf("a check that could not run reads as FAIL:\n%s", r)
	}
}

// readingEvents reports whether the process has perf events open: xdp_dump's
// check holds its perf reader from its first packet to its last, and up
// opens none, so they show that the check is running.
func readingEvents(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(dir)
	for _, fd := range fds {
		if target, _ := os.Readlink(dir + "/" + fd.Name()); target == "anon_inode:[perf_event]" {
			return true
		}
	}
	return false
}

// interruptDuringCheck starts `xdplab <command> xdp_dump`, waits until its
// check runs, then sends sig. The check takes a quarter of a second at
// least (its rings must stay quiet that long after its connection), so the
// signal lands while it runs; ok is false when it did not (the command
// passed first).
func interruptDuringCheck(t *testing.T, inst, command string, sig syscall.Signal) (r result, ok bool) {
	t.Helper()
	cmd := exec.Command(bin, command, "xdp_dump", "--instance", inst)
	var stdout, stderr testutils.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute) // a liveness bound, not a timing
	for !readingEvents(cmd.Process.Pid) {
		select {
		case err := <-done:
			r = result{stdout.String(), stderr.String(), exitCodeOf(err)}
			return r, r.code != 0
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%s never opened its perf reader", command)
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(sig)
	err := <-done
	r = result{stdout.String(), stderr.String(), exitCodeOf(err)}
	return r, r.code != 0
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestInterruptedCheckIsAnError: SIGINT or SIGTERM while check or run
// checks a lab is "could not check" (exit 2) with the command to run again,
// never failed expectations; check leaves the lab up and intact, run takes
// it down.
func TestInterruptedCheckIsAnError(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, command := range []string{"check", "run"} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(command+" "+sig.String(), func(t *testing.T) {
				inst := testutils.Instance(t)
				t.Cleanup(func() { xdplab(t, inst, "down") })
				if command == "check" {
					mustSucceed(t, xdplab(t, inst, "up", "xdp_dump"))
				}
				var r result
				for attempt := 1; ; attempt++ {
					var ok bool
					if r, ok = interruptDuringCheck(t, inst, command, sig); ok {
						break
					}
					if attempt == 5 {
						t.Fatalf("the check ended before the signal %d times in a row:\n%s", attempt, r)
					}
				}
				cause := fmt.Sprintf("interrupted (%s signal received) before the check finished; ", sig)
				if strings.Contains(r.stdout, "  FAIL  ") {
					t.Errorf("an expectation was judged on traffic cut short:\n%s", r)
				}
				if command == "check" {
					wantCouldNotCheck(t, r, cause+"the lab is still up: run `xdplab check xdp_dump --instance "+inst+"` again")
					// The lab is as up left it: nothing to repair, and it passes.
					mustSucceed(t, xdplab(t, inst, "status"))
					mustSucceed(t, xdplab(t, inst, "check", "xdp_dump"))
					mustSucceed(t, xdplab(t, inst, "down"))
				} else {
					wantCouldNotCheck(t, r, cause+"the lab was taken down: run `xdplab run xdp_dump --instance "+inst+"` again")
					if !strings.Contains(r.stdout, "xdp_dump         generic  ERROR") || !strings.Contains(r.stdout, "0 passed, 0 failed, 1 could not be checked") {
						t.Errorf("run's summary table does not show the error:\n%s", r)
					}
				}
				if left := testutils.Leftovers(inst); len(left) > 0 {
					t.Errorf("left behind: %v", left)
				}
			})
		}
	}
}

// waitDetached waits until veth1 in the namespace runs no XDP program: a
// link goes a moment after its last pin, in the kernel's own time.
func waitDetached(t *testing.T, nsName string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a liveness bound, not a timing
	for strings.Contains(run(t, "ip", "-n", nsName, "link", "show", "veth1"), " prog/xdp ") {
		if time.Now().After(deadline) {
			t.Fatalf("veth1 in %s still runs a program", nsName)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDamagedLabIsAnError: a pin deleted by hand, a program detached (its
// link pin deleted, or the link detached with bpftool) are reported by
// status as problems with their fix and by check as the cause (exit 2),
// not as failed expectations that blame the learner's code.
func TestDamagedLabIsAnError(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, tc := range []struct {
		name, lab string
		damage    func(t *testing.T, pinDir, node1 string)
		problem   func(pinDir string) string
	}{
		{"map pin deleted", "packet_counter",
			func(t *testing.T, pinDir, _ string) { os.Remove(filepath.Join(pinDir, "protocols")) },
			func(pinDir string) string { return "pin " + pinDir + "/protocols (map protocols) is gone" }},
		{"program pin deleted", "sockex1",
			func(t *testing.T, pinDir, _ string) { os.Remove(filepath.Join(pinDir, "prog_bpf_prog1")) },
			func(pinDir string) string { return "pin " + pinDir + "/prog_bpf_prog1 (program bpf_prog1) is gone" }},
		{"link pin deleted", "packet_counter",
			func(t *testing.T, pinDir, node1 string) {
				os.Remove(filepath.Join(pinDir, "link_node1_veth1"))
				waitDetached(t, node1)
			},
			func(pinDir string) string {
				return "node1/veth1: no XDP program attached; expected packet_count (its link pin " + pinDir + "/link_node1_veth1 is gone)"
			}},
		{"link detached", "packet_counter",
			func(t *testing.T, pinDir, node1 string) {
				requireTool(t, "bpftool")
				run(t, "bpftool", "link", "detach", "pinned", filepath.Join(pinDir, "link_node1_veth1"))
				waitDetached(t, node1)
			},
			func(string) string {
				return "node1/veth1: no XDP program attached; expected packet_count (its link was detached)"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			t.Cleanup(func() { xdplab(t, inst, "down") })
			mustSucceed(t, xdplab(t, inst, "up", tc.lab))
			pinDir := filepath.Join("/sys/fs/bpf/xdplab", inst, tc.lab)
			tc.damage(t, pinDir, inst+"-"+tc.lab+"-node1")
			problem := tc.problem(pinDir)
			fix := "run `xdplab down " + tc.lab + " --instance " + inst + "` and `xdplab up " + tc.lab + " --instance " + inst + "` again"

			st := xdplab(t, inst, "status")
			if st.code != 2 || !strings.Contains(st.stdout, "  problem: "+problem+"\n    fix: "+fix+"\n") {
				t.Errorf("status does not report %q with its fix:\n%s", problem, st)
			}
			chk := xdplab(t, inst, "check", tc.lab)
			wantCouldNotCheck(t, chk, "could not check: "+problem+": "+fix+"; no expectation was checked")
			if strings.Contains(chk.stdout, "hint:") {
				t.Errorf("check blames the learner's program:\n%s", chk)
			}
			mustSucceed(t, xdplab(t, inst, "down"))
			if left := testutils.Leftovers(inst); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// holdPort listens on addr inside the named namespace from this test
// process, as a learner's server would, until the test ends.
func holdPort(t *testing.T, nsName, addr string) net.Listener {
	t.Helper()
	ns, err := namespace.Open(nsName)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var ln net.Listener
	if err := ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestPortTakenIsAnError: a process of the learner's holding the port the
// check listens on is named, with its pid, in the cause; text, JSON and
// JUnit all report an error, not a failure.
func TestPortTakenIsAnError(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	node1 := inst + "-packet_counter-node1"
	ln := holdPort(t, node1, "192.168.0.2:8888")
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	cause := fmt.Sprintf("tcp port 8888 in netns %s is taken by pid %d (%s): stop it and re-run", node1, os.Getpid(), strings.TrimSpace(string(comm)))

	wantCouldNotCheck(t, xdplab(t, inst, "check", "packet_counter"), "could not check: "+cause+"; 4 of 4 expectations met before it stopped")

	junit := filepath.Join(t.TempDir(), "r.xml")
	js := xdplab(t, inst, "check", "packet_counter", "--json", "--junit", junit)
	if js.code != 2 || !strings.Contains(js.stderr, "could not check packet_counter: "+cause) {
		t.Errorf("check --json: %s", js)
	}
	var doc struct {
		Pass    bool          `json:"pass"`
		Verdict labs.Verdict  `json:"verdict"`
		Reports []labs.Report `json:"reports"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil {
		t.Fatalf("check --json: %v\n%s", err, js)
	}
	if doc.Pass || doc.Verdict != labs.VerdictError || len(doc.Reports) != 1 || doc.Reports[0].Pass ||
		doc.Reports[0].Verdict != labs.VerdictError || doc.Reports[0].Error != cause {
		t.Errorf("JSON of a check that could not run:\n%s", js.stdout)
	}
	x, _ := os.ReadFile(junit)
	for _, want := range []string{
		`<testsuite name="xdplab.` + inst + `.packet_counter" tests="5" failures="0" errors="1"`,
		`<error message="could not check: ` + cause + `" type="environment">`,
	} {
		if !strings.Contains(string(x), want) {
			t.Errorf("JUnit lacks %s:\n%s", want, x)
		}
	}

	ln.Close() // the learner stops it: the check passes
	mustSucceed(t, xdplab(t, inst, "check", "packet_counter"))
	mustSucceed(t, xdplab(t, inst, "down"))
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestCouldNotCheckOutweighsFail: one lab failing an expectation and another
// that could not be checked exit 2, so a grader never takes the second for
// a clean fail.
func TestCouldNotCheckOutweighsFail(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	obj := labtest.Obj("xdp_dump", "xdp_dump_every_packet.o")
	mustSucceed(t, xdplab(t, inst, "up", "xdp_dump", "--obj", obj)) // fails its expectations
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	holdPort(t, inst+"-packet_counter-node1", "0.0.0.0:8888")
	r := xdplab(t, inst, "check")
	if r.code != 2 {
		t.Errorf("exit code %d, want 2\n%s", r.code, r)
	}
	if !errorSummary.MatchString(r.stdout) || !strings.Contains(r.stdout, "could not check: tcp port 8888") {
		t.Errorf("packet_counter's error is not reported:\n%s", r)
	}
	if !regexp.MustCompile(`(?m)^  FAIL: \d+/\d+ expectations met`).MatchString(r.stdout) {
		t.Errorf("xdp_dump's failure is not reported:\n%s", r)
	}
	mustSucceed(t, xdplab(t, inst, "down"))
}

// TestReportFile: an unwritable --junit is refused before anything is
// built; a report file that fails later still leaves the results on stdout.
func TestReportFile(t *testing.T) {
	testutils.RequirePrivileged(t)
	t.Run("missing directory", func(t *testing.T) {
		inst := testutils.Instance(t)
		for _, command := range []string{"run", "check"} {
			r := xdplab(t, inst, command, "packet_counter", "--junit", "/nonexistent-dir/r.xml")
			wantError(t, r, "--junit /nonexistent-dir/r.xml: cannot create a file in /nonexistent-dir: no such file or directory; nothing was started")
			if strings.Contains(r.stderr, "== packet_counter") {
				t.Errorf("%s built the lab before refusing the report path:\n%s", command, r)
			}
			if left := testutils.Leftovers(inst); len(left) > 0 {
				t.Errorf("%s left behind: %v", command, left)
			}
		}
	})
	t.Run("a directory", func(t *testing.T) {
		inst := testutils.Instance(t)
		dir := t.TempDir()
		wantError(t, xdplab(t, inst, "run", "packet_counter", "--junit", dir), "--junit "+dir+" is a directory; nothing was started")
	})
	t.Run("write fails after the run", func(t *testing.T) {
		inst := testutils.Instance(t)
		// /dev/full can be opened for writing, but every write fails.
		r := xdplab(t, inst, "run", "packet_counter", "--junit", "/dev/full")
		if !strings.Contains(r.stdout, "  PASS: 9/9 expectations met") || !strings.Contains(r.stdout, "1 passed, 0 failed") {
			t.Errorf("the results did not reach stdout:\n%s", r)
		}
		wantError(t, r, "write the JUnit report /dev/full:", "no space left on device", "the results above are complete")
		if left := testutils.Leftovers(inst); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
}
