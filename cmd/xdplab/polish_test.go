package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/testutils"
)

// asNobody runs the binary without root, as a learner who forgot sudo.
func asNobody(t testing.TB, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return xdplabCmd(t, cmd)
}

// helpHint is what every usage error ends with.
const helpHint = "(`xdplab help <command>` shows a command's usage)"

// TestExitCodesAsKnownTools: traffic ping with no reply exits 1 as ping(8)
// does, exec exits 127 for a command that is not there and 126 for one that
// cannot run, as a shell does, exec passes the command's own code on, and
// traffic's usage errors exit 2 with the help hint every usage error has.
func TestExitCodesAsKnownTools(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	flag := " --instance " + inst

	// Usage errors are found before anything is looked up: nothing is up.
	for _, args := range [][]string{
		{"traffic", "ping"},
		{"traffic", "ping", "192.168.0.2"},
		{"traffic", "udp", "--bogus", "--to", "192.168.0.2:9"},
		{"traffic", "tcp", "--to", "192.168.0.2:8888", "-c", "many"},
		{"traffic", "ping", "--to", "not-an-address"},
	} {
		r := xdplab(t, inst, args...)
		wantError(t, r, "xdplab: "+strings.Join(args[:2], " "), helpHint)
	}
	wantError(t, xdplab(t, inst, "traffic", "ping"), "say where to send with --to, as in `xdplab traffic ping --to 192.168.0.2"+flag+"`")
	wantError(t, xdplab(t, inst, "traffic", "ping", "192.168.0.2"), "traffic ping takes no arguments (got 192.168.0.2)")
	wantError(t, xdplab(t, inst, "traffic", "udp", "--bogus", "--to", "192.168.0.2:9"), "unknown flag --bogus")

	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))

	// Nobody has 192.168.0.99: ping(8) would exit 1.
	r := xdplab(t, inst, "traffic", "ping", "--to", "192.168.0.99", "-c", "1")
	wantExit(t, r, 1, "stderr", r.stderr, "ping 192.168.0.99: no reply")
	wantExit(t, r, 1, "stdout", r.stdout, "1 packets transmitted, 0 received, 100% packet loss")
	if strings.Contains(r.stderr, helpHint) {
		t.Errorf("no reply is not a usage error:\n%s", r)
	}
	mustSucceed(t, xdplab(t, inst, "traffic", "ping", "--to", "192.168.0.2", "-c", "1"))

	execIn := func(args ...string) result {
		return xdplabCmd(t, exec.Command(bin, append([]string{"exec", "--instance", inst, "node1", "--"}, args...)...))
	}
	r = execIn("xdplab-no-such-command")
	wantExit(t, r, 127, "stderr", r.stderr, "exec xdplab-no-such-command: command not found in $PATH")
	r = execIn("/nonexistent/tool")
	wantExit(t, r, 127, "stderr", r.stderr, "exec /nonexistent/tool: command not found at that path")
	notExec := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notExec, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = execIn(notExec)
	wantExit(t, r, 126, "stderr", r.stderr, "it is not executable", "chmod +x")
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte{0, 1, 2, 3, 4, 5, 6, 7}, 0o755); err != nil {
		t.Fatal(err)
	}
	r = execIn(garbage)
	wantExit(t, r, 126, "stderr", r.stderr, "exec format error", "built for this machine")
	r = execIn("sh", "-c", "exit 5")
	wantExit(t, r, 5, "stderr", r.stderr)
	mustSucceed(t, xdplab(t, inst, "down"))
}

// TestDoctorWithoutRoot: doctor run by a user says "run with sudo" once and
// blames nothing on the kernel.
func TestDoctorWithoutRoot(t *testing.T) {
	testutils.RequirePrivileged(t) // to become nobody
	r := asNobody(t, "doctor")
	wantExit(t, r, 2, "stdout", r.stdout, "fix: run with sudo: `sudo xdplab doctor`", "skip  program and map types")
	if n := strings.Count(r.stdout, "run with sudo"); n != 1 {
		t.Errorf("sudo named %d times, want once:\n%s", n, r)
	}
	if n := strings.Count(r.stdout, "fail "); n != 1 {
		t.Errorf("%d failures, want the privileges one only:\n%s", n, r)
	}
}

// TestListWithoutRoot: list run by a user while a lab is up says it cannot
// tell which labs are up, and never calls that lab down.
func TestListWithoutRoot(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	if r := mustSucceed(t, xdplab(t, inst, "list")); !strings.Contains(r.stdout, "packet_counter   up ") {
		t.Errorf("list as root does not show the lab up:\n%s", r)
	}
	r := mustSucceed(t, asNobody(t, "list", "--instance", inst))
	if strings.Contains(r.stdout, "down") || !regexp.MustCompile(`(?m)^\d+\. packet_counter   unknown`).MatchString(r.stdout) {
		t.Errorf("list as nobody claims a state it cannot know:\n%s", r)
	}
	if want := "without root xdplab cannot tell which labs are up; run `sudo xdplab list --instance " + inst + "`"; !strings.Contains(r.stdout, want) {
		t.Errorf("list as nobody lacks %q:\n%s", want, r)
	}
	r = mustSucceed(t, asNobody(t, "list", "--json", "--instance", inst))
	if strings.Contains(r.stdout, `"down"`) || !strings.Contains(r.stdout, `"state": "unknown"`) {
		t.Errorf("list --json as nobody:\n%s", r)
	}
	mustSucceed(t, xdplab(t, inst, "down"))
}

// liveOutput reads a running command's stdout line by line.
type liveOutput struct {
	cmd   *exec.Cmd
	lines chan string
	seen  []string
}

func startLive(t *testing.T, args ...string) *liveOutput {
	t.Helper()
	l := &liveOutput{cmd: exec.Command(bin, args...), lines: make(chan string, 1024)}
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l.cmd.ProcessState == nil {
			l.cmd.Process.Kill()
			l.cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	return l
}

// waitFor reads lines until one holds want; it fails the test when the
// command ends or 20 s pass first.
func (l *liveOutput) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("the command ended before printing %q:\n%s", want, strings.Join(l.seen, "\n"))
			}
			l.seen = append(l.seen, line)
			if strings.Contains(line, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no line with %q in 20s:\n%s", want, strings.Join(l.seen, "\n"))
		}
	}
}

// interrupt sends Ctrl-C and returns the exit code.
func (l *liveOutput) interrupt(t *testing.T) int {
	t.Helper()
	l.cmd.Process.Signal(os.Interrupt)
	for line := range l.lines {
		l.seen = append(l.seen, line)
	}
	l.cmd.Wait()
	return l.cmd.ProcessState.ExitCode()
}

// TestWatchPolish: watch with no lab named watches the only lab that is
// up, takes --interval, and starts with a header and "waiting for
// packets…" instead of blank lines.
func TestWatchPolish(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	flag := " --instance " + inst
	wantError(t, xdplab(t, inst, "watch"), "nothing is up in instance "+inst+" to watch: start a lab with `xdplab up <lab>"+flag+"`")
	wantError(t, xdplab(t, inst, "watch", "--interval", "1ms"), "watch: --interval 1ms is too short: give at least 100ms", helpHint)
	wantError(t, xdplab(t, inst, "watch", "--interval", "soon"), "watch: invalid value \"soon\" for flag -interval", helpHint)

	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	w := startLive(t, "watch", "--interval", "200ms", "--instance", inst)
	w.waitFor(t, "waiting for packets…")
	if want := "watching packet_counter in instance " + inst + ": counters every 200ms, events as they come (Ctrl-C stops)"; w.seen[0] != want {
		t.Errorf("header %q, want %q", w.seen[0], want)
	}
	mustSucceed(t, xdplab(t, inst, "traffic", "ping", "--to", "192.168.0.2", "-c", "2"))
	w.waitFor(t, "IPPROTO_ICMP : 2")
	// Each print of the counters ends with a blank line, as the
	// tutorial's does; before the first, there are none.
	if code := w.interrupt(t); code != 0 {
		t.Errorf("watch interrupted: exit %d", code)
	}
	for i, line := range w.seen {
		if strings.HasPrefix(line, "IPPROTO_") {
			break
		}
		if strings.TrimSpace(line) == "" {
			t.Errorf("blank line %d while waiting for packets:\n%s", i, strings.Join(w.seen, "\n"))
			break
		}
	}

	mustSucceed(t, xdplab(t, inst, "up", "sockex1"))
	wantError(t, xdplab(t, inst, "watch"), "several labs are up (packet_counter, sockex1): say which, as in `xdplab watch packet_counter"+flag+"`")
	mustSucceed(t, xdplab(t, inst, "down"))
}

// TestUpHintsNameTheLab: with another lab up in the instance, the hints up
// prints name nodes as LAB/NODE, and pasting one works; with one lab up
// they keep the tutorial's bare node names.
func TestUpHintsNameTheLab(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	first := mustSucceed(t, xdplab(t, inst, "up", "xdp_dump"))
	wantOut(t, first, "sudo xdplab exec node1 --instance "+inst+" -- python3", "traffic tcp --from host --to")
	second := mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	hint := ""
	for _, line := range strings.Split(second.stdout, "\n") {
		if strings.Contains(line, "xdplab traffic ping") {
			hint = line
		}
	}
	cmdLine, _, _ := strings.Cut(strings.TrimSpace(hint), "   #")
	if want := "sudo xdplab traffic ping --from packet_counter/host --to 192.168.0.2 --instance " + inst; cmdLine != want {
		t.Fatalf("hint %q, want %q\n%s", cmdLine, want, second.stdout)
	}
	// Pasted as it is (sudo aside), it works.
	mustSucceed(t, xdplabCmd(t, exec.Command(bin, strings.Fields(strings.TrimPrefix(cmdLine, "sudo xdplab "))...)))
	third := mustSucceed(t, xdplab(t, inst, "up", "redirect", "--bare"))
	wantOut(t, third, "sudo xdplab exec --instance "+inst+" redirect/node1 -- ./your-loader veth1",
		"sudo xdplab exec --instance "+inst+" redirect/host -- ping -c 3 192.168.1.5",
		"ip netns exec "+inst+"-redirect-host tcpdump")
	mustSucceed(t, xdplab(t, inst, "down"))
}

// openPTY returns a pseudo-terminal's two ends: the program writes to
// pts, the test reads what it wrote from ptmx.
func openPTY(t *testing.T) (ptmx, pts *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return ptmx, pts
}

// onTerminal runs xdplab with its stdout on a terminal and returns what it
// printed there.
func onTerminal(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ptmx, pts := openPTY(t)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Env = pts, append(os.Environ(), env...)
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, ptmx); close(done) }()
	cmd.Run()
	pts.Close() // the last writer: ptmx reads EIO once it drained
	<-done
	return out.String()
}

// TestColours: check paints PASS and FAIL on a terminal, and prints plain
// words into a pipe or with NO_COLOR set.
func TestColours(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	// A program that drops UDP: some expectations pass, some fail.
	obj, _ := filepath.Abs("../../labs/packet_counter/testdata/drops_udp.o")
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--obj", obj))
	const green, red = "\x1b[32mPASS\x1b[0m", "\x1b[1;31mFAIL\x1b[0m"

	tty := onTerminal(t, []string{"NO_COLOR=", "TERM=xterm"}, "check", "--instance", inst)
	for _, want := range []string{"  " + green + "  IPPROTO_ICMP", "  " + red + "  ", "  " + red + ": "} {
		if !strings.Contains(tty, want) {
			t.Errorf("check on a terminal lacks %q:\n%q", want, tty)
		}
	}
	pipe := xdplab(t, inst, "check")
	wantExit(t, pipe, 1, "stdout", pipe.stdout, "  PASS  IPPROTO_ICMP", "  FAIL  ", "  FAIL: ")
	if strings.Contains(pipe.stdout, "\x1b[") {
		t.Errorf("check into a pipe is painted:\n%q", pipe.stdout)
	}
	if plain := onTerminal(t, []string{"NO_COLOR=1", "TERM=xterm"}, "check", "--instance", inst); strings.Contains(plain, "\x1b[") || !strings.Contains(plain, "  FAIL  ") {
		t.Errorf("check with NO_COLOR is painted:\n%q", plain)
	}
	mustSucceed(t, xdplab(t, inst, "down"))
}
