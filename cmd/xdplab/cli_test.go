package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/labtest"
)

// bin is the xdplab binary built once for these tests: they drive it exactly
// as a learner would.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xdplab-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Chmod(dir, 0o755) // the not-root test runs it as nobody
	bin = filepath.Join(dir, "xdplab")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build xdplab: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func xdplab(t testing.TB, inst string, args ...string) result {
	t.Helper()
	return xdplabCmd(t, exec.Command(bin, append(args, "--instance", inst)...))
}

func xdplabCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return result{out.String(), errb.String(), code}
}

func mustSucceed(t testing.TB, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("command failed: %s", r)
	}
	return r
}

// wantError asserts exit code 2 and a message naming the problem.
func wantError(t testing.TB, r result, contains ...string) {
	t.Helper()
	wantExit(t, r, 2, "stderr", r.stderr, contains...)
}

// wantExit asserts an exit code and that out, the stream named, holds
// every string of contains.
func wantExit(t testing.TB, r result, code int, stream, out string, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\n%s", r.code, code, r)
	}
	for _, c := range contains {
		if !strings.Contains(out, c) {
			t.Errorf("%s lacks %q\n%s", stream, c, r)
		}
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func requireTool(t testing.TB, name string) {
	t.Helper()
	testutils.RequireTool(t, name)
}

// TestPacketCounterAcceptance walks issue 2's acceptance list with the system's
// own tools as witnesses.
func TestPacketCounterAcceptance(t *testing.T) {
	for _, mode := range []string{"generic", "native"} {
		t.Run(mode, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			requireTool(t, "ping")
			inst := testutils.Instance(t)
			t.Cleanup(func() { xdplab(t, inst, "down") })
			up := mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--mode", mode))
			if !strings.Contains(up.stdout, "xdplab check packet_counter --instance "+inst) {
				t.Errorf("up does not say what to try next:\n%s", up.stdout)
			}
			nsList := run(t, "ip", "netns", "list")
			host, node1 := inst+"-packet_counter-host", inst+"-packet_counter-node1"
			for _, ns := range []string{host, node1} {
				if !strings.Contains(nsList, ns) {
					t.Errorf("ip netns list lacks %s:\n%s", ns, nsList)
				}
			}
			link := run(t, "ip", "-n", node1, "link", "show", "veth1")
			wantMode := map[string]string{"generic": "xdpgeneric", "native": "xdp "}[mode]
			if !strings.Contains(link, wantMode) || !strings.Contains(link, "name packet_count") {
				t.Errorf("veth1 does not show %q with packet_count:\n%s", wantMode, link)
			}
			progID := regexp.MustCompile(`prog/xdp id (\d+)`).FindStringSubmatch(link)

			// The system's ping, then watch shows the count in the tutorial's format.
			pingOut := run(t, "ip", "netns", "exec", host, "ping", "-c", "3", "-i", "0.2", "-W", "1", "192.168.0.2")
			if !strings.Contains(pingOut, "3 received") {
				t.Errorf("system ping: %s", pingOut)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			watch := exec.CommandContext(ctx, bin, "watch", "packet_counter", "--instance", inst)
			watch.Cancel = func() error { return watch.Process.Signal(os.Interrupt) }
			wout, _ := watch.Output()
			if !strings.Contains(string(wout), "IPPROTO_ICMP : 3") {
				t.Errorf("watch output lacks IPPROTO_ICMP : 3:\n%s", wout)
			}

			chk := mustSucceed(t, xdplab(t, inst, "check"))
			for _, want := range []string{"IPPROTO_ICMP counts the 3 echo requests: expected 3, observed 3", "IPPROTO_UDP counts the 5 datagrams: expected 5, observed 5", "9/9"} {
				if !strings.Contains(chk.stdout, want) {
					t.Errorf("check output lacks %q:\n%s", want, chk.stdout)
				}
			}
			js := mustSucceed(t, xdplab(t, inst, "check", "--json"))
			if !strings.Contains(js.stdout, `"pass": true`) {
				t.Errorf("check --json:\n%s", js.stdout)
			}
			junit := filepath.Join(t.TempDir(), "junit.xml")
			mustSucceed(t, xdplab(t, inst, "check", "packet_counter", "--junit", junit))
			if b, _ := os.ReadFile(junit); !strings.Contains(string(b), `<testsuite name="xdplab.`+inst+`.packet_counter" tests="9" failures="0"`) {
				t.Errorf("junit report:\n%s", b)
			}
			st := mustSucceed(t, xdplab(t, inst, "status"))
			if !strings.Contains(st.stdout, "xdp packet_count id") || !strings.Contains(st.stdout, "map protocols") {
				t.Errorf("status:\n%s", st.stdout)
			}

			mustSucceed(t, xdplab(t, inst, "down"))
			if left := testutils.Leftovers(inst); len(left) > 0 {
				t.Errorf("down left %v", left)
			}
			if progID != nil {
				if _, err := exec.LookPath("bpftool"); err == nil {
					// The program goes once its pinned link does.
					deadline := time.Now().Add(2 * time.Second)
					for {
						err := exec.Command("bpftool", "prog", "show", "id", progID[1]).Run()
						if err != nil {
							break
						}
						if time.Now().After(deadline) {
							t.Errorf("program id %s still loaded after down", progID[1])
							break
						}
						time.Sleep(50 * time.Millisecond)
					}
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	testutils.RequirePrivileged(t)
	testdata := func(name string) string {
		p, _ := filepath.Abs(filepath.Join("..", "..", "labs", "packet_counter", "testdata", name))
		return p
	}
	t.Run("unknown lab", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_countr"), `unknown lab "packet_countr"`, "valid labs are "+strings.Join(course.Registry().Names(), ", "))
	})
	t.Run("check with nothing up", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "check"), "nothing is up in instance "+inst, "xdplab up <lab> --instance "+inst)
	})
	t.Run("check a lab that is down", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "check", "packet_counter"), "packet_counter is not up")
	})
	t.Run("up twice", func(t *testing.T) {
		inst := testutils.Instance(t)
		t.Cleanup(func() { xdplab(t, inst, "down") })
		mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
		wantError(t, xdplab(t, inst, "up", "packet_counter"), "packet_counter is already up in instance "+inst, "xdplab down packet_counter --instance "+inst)
		mustSucceed(t, xdplab(t, inst, "check")) // the first one is untouched
		mustSucceed(t, xdplab(t, inst, "down"))
	})
	t.Run("unknown node for exec", func(t *testing.T) {
		inst := testutils.Instance(t)
		t.Cleanup(func() { xdplab(t, inst, "down") })
		mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
		r := xdplabCmd(t, exec.Command(bin, "exec", "--instance", inst, "node7", "--", "true"))
		wantError(t, r, `unknown node "node7" in lab packet_counter: nodes are host, node1`)
		// And the known one works.
		r = xdplabCmd(t, exec.Command(bin, "exec", "--instance", inst, "node1", "--", "cat", "/proc/net/dev"))
		if r.code != 0 || !strings.Contains(r.stdout, "veth1") {
			t.Errorf("exec node1: %s", r)
		}
		mustSucceed(t, xdplab(t, inst, "down"))
	})
	t.Run("exec with nothing up", func(t *testing.T) {
		inst := testutils.Instance(t)
		r := xdplabCmd(t, exec.Command(bin, "exec", "--instance", inst, "host", "--", "true"))
		wantError(t, r, "nothing is up in instance "+inst)
	})
	t.Run("not root", func(t *testing.T) {
		inst := testutils.Instance(t)
		for _, args := range [][]string{{"up", "packet_counter"}, {"check"}, {"down"}, {"run", "--all"}} {
			cmd := exec.Command(bin, append(args, "--instance", inst)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			wantError(t, xdplabCmd(t, cmd), "needs root", "sudo xdplab "+args[0])
		}
		// Commands that only read embedded data work for everyone.
		cmd := exec.Command(bin, "list")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if r := xdplabCmd(t, cmd); r.code != 0 || !strings.Contains(r.stdout, "packet_counter") {
			t.Errorf("list as nobody: %s", r)
		}
	})
	t.Run("bpffs not mounted", func(t *testing.T) {
		requireTool(t, "unshare")
		inst := testutils.Instance(t)
		// A private mount namespace without bpffs: the machine's own mount is
		// untouched.
		cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
			`umount /sys/fs/bpf 2>/dev/null; exec "$0" up packet_counter --instance "$1"`, bin, inst)
		wantError(t, xdplabCmd(t, cmd), "bpffs is not mounted at /sys/fs/bpf", "sudo xdplab doctor", "mount -t bpf bpf /sys/fs/bpf")
	})
	t.Run("obj not an ELF", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_counter", "--obj", testdata("legacy_packet_count.c")),
			"is not an ELF file", "clang -O2 -g -target bpf")
	})
	t.Run("obj missing", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_counter", "--obj", "/nonexistent/prog.o"), "no such file")
	})
	t.Run("obj with other names", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_counter", "--obj", labtest.WrongNames()),
			`no program named "packet_count" (have: count)`, `no map named "protocols" (have: counters)`, "PerCPUArray")
	})
	t.Run("obj the verifier rejects", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_counter", "--obj", testdata("unbounded_read.o")),
			"the verifier rejected the program", "invalid access to packet", "unbounded_read.c:20")
	})
	t.Run("unknown mode", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_counter", "--mode", "turbo"), `unknown mode "turbo"`)
	})
	t.Run("bad instance", func(t *testing.T) {
		wantError(t, xdplabCmd(t, exec.Command(bin, "up", "packet_counter", "--instance", "a-b")), "no '-'")
	})
}

// TestLegacyObject loads the tutorial's own object (legacy maps section) with
// --obj and grades it.
func TestLegacyObject(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	obj := labtest.Obj("packet_counter", "legacy_packet_count.o")
	r := xdplab(t, inst, "run", "packet_counter", "--obj", obj)
	if r.code != 0 || !strings.Contains(r.stdout, "1 passed, 0 failed") {
		t.Fatalf("run with the tutorial's object: %s", r)
	}
}

// TestInstancesIndependent brings the same lab up in two instances at once.
func TestInstancesIndependent(t *testing.T) {
	testutils.RequirePrivileged(t)
	a, b := testutils.Instance(t), testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, a, "down"); xdplab(t, b, "down") })
	var wg sync.WaitGroup
	for _, inst := range []string{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); mustSucceed(t, xdplab(t, inst, "up", "packet_counter")) }()
	}
	wg.Wait()
	for _, inst := range []string{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); mustSucceed(t, xdplab(t, inst, "check")) }()
	}
	wg.Wait()
	mustSucceed(t, xdplab(t, a, "down"))
	mustSucceed(t, xdplab(t, b, "check")) // b is unaffected by a's down
	mustSucceed(t, xdplab(t, b, "down"))
}

// TestConcurrentCommandsOneInstance starts several commands on one instance
// at once: they serialize, so exactly one up wins and the others say the lab
// is already up, never a half-built mix.
func TestConcurrentCommandsOneInstance(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	const n = 4
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = xdplab(t, inst, "up", "packet_counter") }()
	}
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch {
		case r.code == 0:
			ok++
		case !strings.Contains(r.stderr, "already up"):
			t.Errorf("concurrent up failed unexpectedly: %s", r)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent ups succeeded, want 1", ok)
	}
	// check and down racing: down waits for check or check sees nothing up.
	wg.Add(2)
	var chk, down result
	go func() { defer wg.Done(); chk = xdplab(t, inst, "check") }()
	go func() { defer wg.Done(); down = xdplab(t, inst, "down") }()
	wg.Wait()
	mustSucceed(t, down)
	if chk.code != 0 && !strings.Contains(chk.stderr, "nothing is up") {
		t.Errorf("check racing down: %s", chk)
	}
}

// TestKillDuringUp SIGKILLs `up` at many moments; `down` must then leave
// nothing, and a fresh `up` must work.
func TestKillDuringUp(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	for delay := time.Duration(0); delay <= 24*time.Millisecond; delay += 1500 * time.Microsecond {
		cmd := exec.Command(bin, "up", "packet_counter", "--instance", inst)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		r := xdplab(t, inst, "down")
		if r.code != 0 {
			t.Fatalf("down after kill at %v: %s", delay, r)
		}
		if left := testutils.Leftovers(inst); len(left) > 0 {
			t.Fatalf("after kill at %v and down: %v", delay, left)
		}
	}
	// A killed up followed directly by up reconciles.
	cmd := exec.Command(bin, "up", "packet_counter", "--instance", inst)
	cmd.Start()
	time.Sleep(4 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	mustSucceed(t, xdplab(t, inst, "check"))
	mustSucceed(t, xdplab(t, inst, "down"))
}
