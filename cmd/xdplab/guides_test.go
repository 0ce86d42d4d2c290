package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/guide"
)

// repoRoot is the repository, from this package's directory.
const repoRoot = "../.."

// TestGuidesRunAsWritten runs the commands of every lab's guide and of the
// README as a new learner would: spelled for an instance of the test's own,
// block after block, in a fresh directory, with xdplab on PATH. A command
// that does not end as the guide says fails the test with the guide's file
// and line, the command and its output. CONTRIBUTING.md ("Guides that run
// as written") describes the blocks and directives it reads.
func TestGuidesRunAsWritten(t *testing.T) {
	reg := course.Registry()
	for _, l := range reg.All() {
		info := l.Info()
		t.Run(info.Name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			runGuide(t, guideRun{File: filepath.Join("labs", info.Name, "guide.md"), Text: info.Guide, Lab: &info})
		})
	}
	t.Run("README", func(t *testing.T) {
		testutils.RequirePrivileged(t)
		b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		runGuide(t, guideRun{File: "README.md", Text: string(b)})
	})
}

// TestTranslatedGuidesRunAsWritten runs the commands of every translated
// guide, and the learner's path of README.<lang>.md, as
// TestGuidesRunAsWritten runs the English: a reader of any language pastes
// the commands of the guide in front of them. A lab not translated yet is
// TestTranslationsInStep's to report (labs/course).
func TestTranslatedGuidesRunAsWritten(t *testing.T) {
	reg := course.Registry()
	for _, lang := range guide.Languages[1:] {
		for _, l := range reg.All() {
			info := l.Info()
			t.Run(lang.Code+"/"+info.Name, func(t *testing.T) {
				testutils.RequirePrivileged(t)
				if _, ok, err := info.Translation(lang.Code); err != nil || !ok {
					t.Skipf("no %s guide (TestTranslationsInStep reports it): %v", lang.Name, err)
				}
				// The file as written, its source line included, so that
				// messages give its lines.
				file := filepath.Join("labs", info.Name, guide.TranslationFile(lang.Code))
				b, err := os.ReadFile(filepath.Join(repoRoot, file))
				if err != nil {
					t.Fatal(err)
				}
				runGuide(t, guideRun{File: file, Text: string(b), Lab: &info})
			})
		}
		t.Run(lang.Code+"/README", func(t *testing.T) {
			testutils.RequirePrivileged(t)
			file := "README." + lang.Code + ".md"
			b, err := os.ReadFile(filepath.Join(repoRoot, file))
			if err != nil {
				t.Fatal(err)
			}
			runGuide(t, guideRun{File: file, Text: string(b)})
		})
	}
}

// guideRun is one markdown document to run.
type guideRun struct {
	// File is the document's path in the repository, for messages.
	File string
	// Text is the document as written, for the default instance.
	Text string
	// Lab is the lab the document guides, nil for one about every lab.
	Lab *labs.Info
}

// commandLimit is how long a command may run before the test gives up on
// it: `run --all` is the longest a guide holds.
const commandLimit = 3 * time.Minute

// runGuide runs a document's sh blocks in order on a fresh instance and
// directory. Any document can be run this way, a translated guide as well.
func runGuide(t *testing.T, g guideRun) {
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down", "--all") })
	text := course.Registry().ForInstance(g.Text, inst)
	blocks, err := guide.Blocks(text)
	if err != nil {
		t.Fatalf("%s: %v", g.File, err)
	}
	sh := &learnerShell{t: t, dir: t.TempDir(), state: t.TempDir(), inst: inst, file: g.File}
	ran := 0
	for _, b := range blocks {
		if b.Lang != guide.Run {
			continue
		}
		switch {
		case b.Skip != "":
			t.Logf("%s:%d: block not run: %s", g.File, b.Line, b.Skip)
			continue
		case b.NeedsSteps && g.Lab == nil:
			t.Fatalf("%s:%d: needs steps, but the document guides no one lab", g.File, b.Line)
		case b.NeedsSteps && len(g.Lab.Steps) == 0:
			t.Logf("%s:%d: block not run: %s has no exercises yet (needs steps)", g.File, b.Line, g.Lab.Name)
			continue
		}
		for _, g := range b.Given {
			sh.given(b, g)
		}
		ran += sh.block(b)
	}
	if ran == 0 {
		t.Errorf("%s: no command ran: a guide shows its commands in ```sh blocks", g.File)
	}
}

// learnerShell runs commands one at a time as a learner's terminal would:
// the directory a `cd` moved to stays for the next command.
type learnerShell struct {
	t     *testing.T
	dir   string // the current directory
	state string // the test's own files, out of the learner's sight
	inst  string
	file  string
	n     int // commands started
}

// given puts in the current directory a file the block expects the reader
// to have, from the repository file that stands for it.
func (sh *learnerShell) given(b guide.Block, g guide.Given) {
	data, err := os.ReadFile(filepath.Join(repoRoot, g.From))
	if err == nil {
		dst := filepath.Join(sh.dir, g.File)
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.WriteFile(dst, data, 0o644)
		}
	}
	if err != nil {
		sh.t.Fatalf("%s:%d: given %s from %s: %v", sh.file, b.Line, g.File, g.From, err)
	}
}

// started is a command that runs until it is interrupted.
type started struct {
	cmd   guide.Command
	proc  *exec.Cmd
	out   *testutils.SyncBuffer
	done  chan error
	cwd   string // where bash writes the directory the command ended in
	err   error  // how it ended, once it has
	over  bool
	began time.Time
}

// ended reports whether the command has ended, taking how.
func (s *started) ended() bool {
	if !s.over {
		select {
		case s.err = <-s.done:
			s.over = true
		default:
		}
	}
	return s.over
}

// wait waits at most d for the command to end.
func (s *started) wait(d time.Duration) bool {
	if !s.over {
		select {
		case s.err = <-s.done:
			s.over = true
		case <-time.After(d):
		}
	}
	return s.over
}

// block runs one sh block's commands and returns how many ran. Background
// commands are interrupted after the block's last command.
func (sh *learnerShell) block(b guide.Block) int {
	ran := 0
	var bg []*started
	defer func() {
		// The test failed: what still runs in the background is killed,
		// not judged.
		for _, s := range bg {
			if !s.ended() {
				sh.kill(s)
			}
		}
	}()
	for _, c := range b.Commands {
		if c.Skip != "" {
			sh.t.Logf("%s:%d: not run: %s", sh.file, c.Line, c.Skip)
			continue
		}
		ran++
		sh.t.Logf("%s:%d: $ %s", sh.file, c.Line, c.Text)
		s := sh.start(c)
		switch {
		case c.Background:
			bg = append(bg, s)
			sh.waitReady(s)
		case c.Interrupt > 0:
			if s.wait(c.Interrupt) {
				sh.judge(s, "before Ctrl-C")
			} else {
				sh.interrupt(s)
			}
		case s.wait(commandLimit):
			sh.judge(s, "")
		default:
			sh.kill(s)
			sh.fail(s, fmt.Sprintf("still running after %v (a command that runs until Ctrl-C needs `interrupt DURATION` or `background`)", commandLimit))
		}
	}
	for len(bg) > 0 {
		s := bg[len(bg)-1]
		sh.interrupt(s)
		bg = bg[:len(bg)-1]
	}
	return ran
}

// start runs a command with bash in its own process group, as a terminal
// runs a job. sudo is a function that runs its arguments: the test is root
// already, and the real sudo would reset PATH and the environment. The
// directory the command ends in is written to the test's state.
func (sh *learnerShell) start(c guide.Command) *started {
	sh.n++
	cwdFile := filepath.Join(sh.state, fmt.Sprintf("cwd%d", sh.n))
	script := "set -o pipefail\nsudo() { \"$@\"; }\n" + c.Text +
		"\n__xdplab_guide_rc=$?\npwd >" + cwdFile + "\nexit $__xdplab_guide_rc\n"
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = sh.dir
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		// A workspace's Makefile runs $(SUDO) xdplab: root needs none.
		"SUDO=",
		// The spelled commands carry --instance; this only keeps one the
		// spelling missed away from the default instance.
		"XDPLAB_INSTANCE="+sh.inst,
		// So that a server in the background shows what it prints at once.
		"PYTHONUNBUFFERED=1",
	)
	out := &testutils.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	s := &started{cmd: c, proc: cmd, out: out, done: make(chan error, 1), cwd: cwdFile, began: time.Now()}
	if err := cmd.Start(); err != nil {
		sh.t.Fatalf("%s:%d: start bash: %v", sh.file, c.Line, err)
	}
	go func() { s.done <- cmd.Wait() }()
	return s
}

// waitReady waits until a background command printed its Prints text.
func (sh *learnerShell) waitReady(s *started) {
	deadline := time.Now().Add(20 * time.Second)
	for s.cmd.Prints != "" && !strings.Contains(s.out.String(), s.cmd.Prints) {
		if s.wait(20 * time.Millisecond) {
			sh.judge(s, fmt.Sprintf("before it printed %q", s.cmd.Prints))
			sh.fail(s, fmt.Sprintf("ended before it printed %q", s.cmd.Prints))
		}
		if time.Now().After(deadline) {
			sh.kill(s)
			sh.fail(s, fmt.Sprintf("did not print %q within 20s", s.cmd.Prints))
		}
	}
}

// interrupt presses Ctrl-C: SIGINT to the command's process group. The
// command must then end as the guide says, within a few seconds.
func (sh *learnerShell) interrupt(s *started) {
	if s.ended() {
		sh.judge(s, "before Ctrl-C")
		return
	}
	syscall.Kill(-s.proc.Process.Pid, syscall.SIGINT)
	if !s.wait(15 * time.Second) {
		sh.kill(s)
		sh.fail(s, "did not end within 15s of Ctrl-C")
	}
	sh.judge(s, "after Ctrl-C")
}

func (sh *learnerShell) kill(s *started) {
	syscall.Kill(-s.proc.Process.Pid, syscall.SIGKILL)
	s.wait(time.Hour)
}

// judge fails the test unless the command ended with the exit code the
// guide gives it; it then takes the directory the command left the shell in.
func (sh *learnerShell) judge(s *started, when string) {
	err := s.err
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		code = ee.ExitCode()
	case errors.As(err, &ee):
		sh.fail(s, fmt.Sprintf("killed by %v %s", ee.ProcessState, when))
	case err != nil:
		sh.fail(s, err.Error())
	}
	if !s.cmd.Allows(code) {
		if when != "" {
			when = " " + when
		}
		want := "0"
		if len(s.cmd.Exit) > 0 {
			want = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(s.cmd.Exit)), " or "), "[]")
		}
		sh.fail(s, fmt.Sprintf("exit %d%s, want %s", code, when, want))
	}
	if p := s.cmd.Prints; p != "" && !strings.Contains(s.out.String(), p) {
		sh.fail(s, fmt.Sprintf("the output lacks %q", p))
	}
	if took := time.Since(s.began); took > 2*time.Second && !s.cmd.Background && s.cmd.Interrupt == 0 {
		sh.t.Logf("%s:%d: took %v", sh.file, s.cmd.Line, took.Round(time.Millisecond))
	}
	if b, err := os.ReadFile(s.cwd); err == nil && len(b) > 0 && !s.cmd.Background {
		sh.dir = strings.TrimSpace(string(b))
	}
}

// fail ends the guide: a learner stuck at a command goes no further.
func (sh *learnerShell) fail(s *started, why string) {
	sh.t.Helper()
	out := s.out.String()
	if len(out) > 8000 {
		out = "...\n" + out[len(out)-8000:]
	}
	sh.t.Fatalf("%s:%d: %s\n  $ %s\n  (in %s)\n%s", sh.file, s.cmd.Line, why, s.cmd.Text, sh.dir, out)
}

// TestGuideCommand: `xdplab guide` prints the guide spelled for the
// instance of --instance or XDPLAB_INSTANCE, without the guide test's
// directives, and refuses an invalid instance name as every command does.
func TestGuideCommand(t *testing.T) {
	reg := course.Registry()
	info, err := reg.Get("redirect")
	if err != nil {
		t.Fatal(err)
	}
	raw := info.Info().Guide
	def := mustSucceed(t, xdplabCmd(t, exec.Command(bin, "guide", "redirect")))
	if want := fmt.Sprintf("# Lab %d: ", reg.Number("redirect")) + guide.Strip(raw)[len("# "):]; def.stdout != want {
		t.Errorf("guide for the default instance is not the guide as written, numbered and without directives:\n%s", def.stdout)
	}

	alice := mustSucceed(t, xdplab(t, "alice", "guide", "redirect"))
	cmd := exec.Command(bin, "guide", "redirect")
	cmd.Env = append(os.Environ(), "XDPLAB_INSTANCE=alice")
	env := mustSucceed(t, xdplabCmd(t, cmd))
	for name, r := range map[string]result{"--instance alice": alice, "XDPLAB_INSTANCE=alice": env} {
		for _, want := range []string{
			"sudo ip netns exec alice-redirect-node1 sysctl -w net.ipv4.ip_forward=0",
			"sudo ip netns exec alice-redirect-host tcpdump -ni veth0 -c 4 icmp",
			"sudo xdplab check redirect --instance alice\n",
			"/sys/fs/bpf/xdplab/alice/redirect/link_host_veth0",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("guide with %s lacks %q", name, want)
			}
		}
		if strings.Contains(r.stdout, "xdplab-redirect-") || strings.Contains(r.stdout, guide.Marker) {
			t.Errorf("guide with %s holds the default instance's names or a directive:\n%s", name, r.stdout)
		}
	}

	wantError(t, xdplab(t, "Not-An-Instance", "guide", "redirect"), "invalid instance name")
}

// TestInstancelessCommands: the commands labs.InstancelessCommands names,
// which guides leave without --instance, are exactly those that take no
// --instance of their own (nor do their subcommands).
func TestInstancelessCommands(t *testing.T) {
	app := newApp()
	var takesInstance func(c *cli.Command) bool
	takesInstance = func(c *cli.Command) bool {
		return slices.ContainsFunc(c.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), "instance") }) ||
			len(c.Subcommands) > 0 && !slices.ContainsFunc(c.Subcommands, func(s *cli.Command) bool { return !takesInstance(s) })
	}
	for _, c := range app.Commands {
		if c.Hidden {
			continue // the shell scripts' and make install's, never in a guide
		}
		takes := takesInstance(c)
		if listed := slices.Contains(labs.InstancelessCommands, c.Name); takes == listed {
			t.Errorf("command %s: takes --instance %v, in labs.InstancelessCommands %v: one or the other", c.Name, takes, listed)
		}
	}
	for _, name := range labs.InstancelessCommands {
		if app.Command(name) == nil && name != "help" {
			t.Errorf("labs.InstancelessCommands names %s, which is no command", name)
		}
	}
}
