package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/labtest"
)

// watching is a `check --watch` running in the background.
type watching struct {
	cmd         *exec.Cmd
	out, stderr testutils.SyncBuffer
	seen        int // how much of out the test has read
	done        chan struct{}
}

// startWatch runs `xdplab check <lab> --watch` with TMPDIR set to tmp and
// waits for its first round; the cleanup kills it by its pid if the test
// did not stop it.
func startWatch(t *testing.T, inst, tmp string, args ...string) (*watching, string) {
	t.Helper()
	w := &watching{done: make(chan struct{})}
	w.cmd = exec.Command(bin, append([]string{"check", "--watch", "--instance", inst}, args...)...)
	w.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			syscall.Kill(w.cmd.Process.Pid, syscall.SIGKILL)
			<-w.done
		}
	})
	return w, w.round(t)
}

// roundEnd is the last line of a round: its verdict with the time, or why
// it stopped before a check. A file that is gone ends one too.
var roundEnd = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  (PASS|FAIL|ERROR|BUILD FAILED|LOAD FAILED|.* is gone).*\n`)

// round waits for the next round to end and returns what it printed.
func (w *watching) round(t *testing.T) string {
	t.Helper()
	deadline := time.After(60 * time.Second) // a build and a check, on a loaded machine
	for {
		out := w.out.String()[w.seen:]
		if loc := roundEnd.FindStringIndex(out); loc != nil {
			w.seen += loc[1]
			return out[:loc[1]]
		}
		select {
		case <-w.done:
			t.Fatalf("check --watch ended: %v\nstdout:\n%s\nstderr:\n%s", w.cmd.ProcessState, w.out.String(), w.stderr.String())
		case <-deadline:
			t.Fatalf("no round ended within a minute; stdout:\n%s\nstderr:\n%s", w.out.String(), w.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends sig and returns the exit code and what was printed since the
// last round.
func (w *watching) stop(t *testing.T, sig syscall.Signal) (int, string) {
	t.Helper()
	syscall.Kill(w.cmd.Process.Pid, sig)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("check --watch did not end on %v; stdout:\n%s", sig, w.out.String())
	}
	return w.cmd.ProcessState.ExitCode(), w.out.String()[w.seen:]
}

func wantRound(t *testing.T, what, out string, contains ...string) {
	t.Helper()
	for _, c := range contains {
		if !strings.Contains(out, c) {
			t.Errorf("%s: the round lacks %q:\n%s", what, c, out)
		}
	}
}

// watchVerdicts reads how many expectations packet_counter's check has
// from a first round that passed, and returns that round's summary and the
// summary of the `*count += 2` mistake, which fails the three counts.
func watchVerdicts(t *testing.T, first string) (pass, fail string) {
	t.Helper()
	m := regexp.MustCompile(`PASS (\d+)/(\d+)`).FindStringSubmatch(first)
	if m == nil || m[1] != m[2] {
		t.Fatalf("the first round did not pass:\n%s", first)
	}
	n, _ := strconv.Atoi(m[1])
	return fmt.Sprintf("PASS %d/%d", n, n), fmt.Sprintf("FAIL %d/%d", n-3, n)
}

// xdpProg is the id and tag of the XDP program on node1's veth1, as ip
// shows them: an independent witness of what runs.
func xdpProg(t *testing.T, inst string) (id, tag string) {
	t.Helper()
	out := run(t, "ip", "-n", inst+"-packet_counter-node1", "link", "show", "veth1")
	m := regexp.MustCompile(`prog/xdp id (\d+) name packet_count tag ([0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no packet_count on veth1:\n%s", out)
	}
	return m[1], m[2]
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	s := sha256.Sum256([]byte(readFile(t, p)))
	return hex.EncodeToString(s[:])
}

// saveByRename writes a file as most editors save one: a new file renamed
// over the old.
func saveByRename(t *testing.T, p, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// noReloadFiles asserts that the watch left no object of its own in tmp.
func noReloadFiles(t *testing.T, tmp string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(tmp, "xdplab-reload-*"))
	if len(left) > 0 {
		t.Errorf("check --watch left %v", left)
	}
}

// solutionWorkspace is a fresh instance whose labs go down at the end, a
// workspace that `xdplab init packet_counter --solution` wrote, the path of
// its packet_counter.c, and a TMPDIR for the commands the test runs.
func solutionWorkspace(t *testing.T) (inst, ws, src, tmp string) {
	t.Helper()
	testutils.RequirePrivileged(t)
	requireTool(t, "clang")
	inst = testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	dir := t.TempDir()
	tmp = t.TempDir()
	ws = filepath.Join(dir, "ws")
	mustSucceed(t, in(t, dir, nil, "init", "packet_counter", ws, "--solution"))
	return inst, ws, filepath.Join(ws, "packet_counter.c"), tmp
}

// TestCheckWatch is the learner's loop on packet_counter up from a
// workspace's solution: each save is built, loaded into the same topology
// and checked; a mistake fails with its hint, a syntax error shows clang's
// message and a program the verifier refuses shows its log, while the lab
// keeps the last program that loaded; Ctrl-C leaves the lab up, and the
// exit code is the verdict on what runs.
func TestCheckWatch(t *testing.T) {
	inst, ws, src, tmp := solutionWorkspace(t)
	solution := readFile(t, src)
	mistake := strings.Replace(solution, "*count += 1;", "*count += 2;", 1)
	if mistake == solution {
		t.Fatal("the solution has no `*count += 1;` to get wrong")
	}
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--src", src))
	node1 := inst + "-packet_counter-node1"
	ino := testutils.NetnsInode(t, node1)
	upID, _ := xdpProg(t, inst)

	w, first := startWatch(t, inst, tmp, "packet_counter")
	pass, fail := watchVerdicts(t, first)
	wantRound(t, "first", first, "watching "+src+" and the headers under "+filepath.Join(ws, "include"), pass)
	if id, _ := xdpProg(t, inst); id != upID {
		t.Errorf("the first round reloaded a program up had just loaded: id %s, was %s", id, upID)
	}

	saveByRename(t, src, mistake)
	r := w.round(t)
	wantRound(t, "mistake", r, "packet_counter.c changed", "FAIL  IPPROTO_ICMP counts the 3 echo requests: expected 3, observed 6",
		"hint: each packet was counted 2 times", "(TODO 3 in packet_counter.c)", fail)
	if strings.Contains(r, "PASS  ") {
		t.Errorf("the round lists expectations that passed:\n%s", r)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  ` + regexp.QuoteMeta(fail) + ` \(\d+\.\d s\)$`).MatchString(r) {
		t.Errorf("no summary line like `14:03:12  %s (0.4 s)`:\n%s", fail, r)
	}
	mistakeID, mistakeTag := xdpProg(t, inst)
	if mistakeID == upID {
		t.Errorf("the mistake was not loaded: veth1 still runs program %s", upID)
	}

	writeFile(t, src, mistake+"int x = ;\n")
	r = w.round(t)
	wantRound(t, "syntax error", r, "packet_counter.c:", "error: expected expression", "BUILD FAILED", "clang failed",
		"the lab still runs src "+src, "waiting for the next change")
	if id, _ := xdpProg(t, inst); id != mistakeID {
		t.Errorf("after a build that failed, veth1 runs program %s, want %s, the last that loaded", id, mistakeID)
	}

	writeFile(t, src, readFile(t, labtest.Obj("packet_counter", "unbounded_read.c")))
	r = w.round(t)
	wantRound(t, "verifier", r, "the verifier rejected the program", "invalid access to packet", "packet_counter.c:20",
		"LOAD FAILED", "the lab still runs src "+src, "waiting for the next change")
	// Put back from the bytes that loaded before: another id, the same
	// instructions.
	if _, tag := xdpProg(t, inst); tag != mistakeTag {
		t.Errorf("after a load that failed, veth1 runs a program with tag %s, want %s, the last that loaded", tag, mistakeTag)
	}
	// Traffic still flows through the program put back: the mistake's
	// counts, not an error.
	if r := xdplab(t, inst, "check"); r.code != 1 || !strings.Contains(r.stdout, "observed 6") {
		t.Errorf("check of the program put back: %s", r)
	}

	header := filepath.Join(ws, "include", "xdplab", "parse.h")
	writeFile(t, src, solution)
	r = w.round(t)
	wantRound(t, "solution", r, pass)
	writeFile(t, header, readFile(t, header)+"/* a learner's note */\n")
	r = w.round(t)
	wantRound(t, "header", r, filepath.Join("include", "xdplab", "parse.h")+" changed", pass)

	code, last := w.stop(t, syscall.SIGINT)
	if code != 0 || !strings.Contains(last, "stopped watching; packet_counter stays up, running src "+src) || !strings.Contains(last, "its last check passed: exit 0") {
		t.Errorf("Ctrl-C after a pass: exit %d\n%s\nstderr:\n%s", code, last, w.stderr.String())
	}
	if got := testutils.NetnsInode(t, node1); got != ino {
		t.Errorf("node1's namespace was made again (inode %d, was %d): reloads must keep the topology", got, ino)
	}
	// The lab is up with the solution, and the record says so.
	js := mustSucceed(t, xdplab(t, inst, "check", "packet_counter", "--json"))
	var doc struct {
		Reports []struct {
			Origin struct {
				Kind, SHA256 string
				SrcSHA256    string `json:"src_sha256"`
			}
		}
	}
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil || len(doc.Reports) != 1 {
		t.Fatalf("check --json: %v\n%s", err, js.stdout)
	}
	o := doc.Reports[0].Origin
	if o.Kind != "src" || o.SrcSHA256 != fileSum(t, src) || o.SHA256 != fileSum(t, filepath.Join(ws, "packet_counter.o")) {
		t.Errorf("origin after the watch: %+v; want src with the sha256 of %s and of its object", o, src)
	}

	// Ctrl-C after a failed check: exit 1. A first round with the files as
	// they were loaded only checks.
	saveByRename(t, src, mistake)
	w, first = startWatch(t, inst, tmp, "packet_counter")
	wantRound(t, "first after an edit", first, fail)
	code, last = w.stop(t, syscall.SIGINT)
	if code != 1 || !strings.Contains(last, "its last check failed: exit 1") {
		t.Errorf("Ctrl-C after a fail: exit %d\n%s", code, last)
	}
	// SIGTERM after a build that failed: exit 2; the lab runs the mistake.
	w, first = startWatch(t, inst, tmp, "packet_counter")
	wantRound(t, "first, unchanged", first, fail)
	if strings.Contains(first, "changed") {
		t.Errorf("the first round rebuilt unchanged files:\n%s", first)
	}
	writeFile(t, src, "int x = ;\n")
	wantRound(t, "syntax error", w.round(t), "BUILD FAILED")
	code, last = w.stop(t, syscall.SIGTERM)
	if code != 2 || !strings.Contains(last, "the last build failed: exit 2") || !strings.Contains(last, "stays up, running src "+src) {
		t.Errorf("SIGTERM after a build that failed: exit %d\n%s", code, last)
	}
	if r := xdplab(t, inst, "check"); r.code != 1 || !strings.Contains(r.stdout, "observed 6") {
		t.Errorf("check after the watch: %s", r)
	}
	noReloadFiles(t, tmp)
	mustSucceed(t, xdplab(t, inst, "down"))
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("down left %v", left)
	}
}

// TestCheckWatchObj: a lab up with --obj, from an object the learner builds
// their own way, is reloaded and checked each time the object is written;
// an object removed (make clean) is waited for, and changes no verdict.
func TestCheckWatchObj(t *testing.T) {
	inst, ws, src, tmp := solutionWorkspace(t)
	obj := filepath.Join(ws, "packet_counter.o")
	mustSucceed(t, in(t, ws, []string{"TMPDIR=" + tmp}, "build"))
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--obj", obj))

	w, first := startWatch(t, inst, tmp, "packet_counter")
	pass, fail := watchVerdicts(t, first)
	wantRound(t, "first", first, "watching "+obj+": each time you rebuild it", pass)
	// Editing the source alone changes nothing: the object is watched.
	writeFile(t, src, strings.Replace(readFile(t, src), "*count += 1;", "*count += 2;", 1))
	mustSucceed(t, in(t, ws, []string{"TMPDIR=" + tmp}, "build"))
	r := w.round(t)
	wantRound(t, "rebuilt", r, "packet_counter.o changed", "hint: each packet was counted 2 times", fail)
	if strings.Contains(r, "packet_counter.c") && !strings.Contains(r, "(TODO 3 in packet_counter.c)") {
		t.Errorf("the round reacted to the source:\n%s", r)
	}
	if err := os.Remove(obj); err != nil {
		t.Fatal(err)
	}
	wantRound(t, "removed", w.round(t), "packet_counter.o is gone; waiting for it to be written again")
	code, last := w.stop(t, syscall.SIGINT)
	if code != 1 || !strings.Contains(last, "running obj "+obj) || !strings.Contains(last, "its last check failed: exit 1") {
		t.Errorf("Ctrl-C: exit %d\n%s", code, last)
	}
	noReloadFiles(t, tmp)
	mustSucceed(t, xdplab(t, inst, "down"))
}

// TestCheckWatchRefused: --watch on a lab that runs its embedded program or
// a bare lab, with no lab, with --json, on a lab that is not up: exit 2
// with the reason and the commands that work, and nothing changed.
func TestCheckWatchRefused(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	flag := " --instance " + inst
	wantError(t, xdplab(t, inst, "check", "packet_counter", "--watch"), "packet_counter is not up in instance "+inst)
	wantError(t, xdplab(t, inst, "check", "--watch"), "--watch checks one lab", "xdplab check <lab> --watch"+flag)

	mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--mode", "native"))
	id, _ := xdpProg(t, inst)
	wantError(t, xdplab(t, inst, "check", "packet_counter", "--watch"),
		"--watch needs a lab up with --src or --obj, and packet_counter runs its embedded program",
		"`xdplab down packet_counter"+flag+"`", "`xdplab up packet_counter --mode native --src FILE.c"+flag+"`",
		"`xdplab check packet_counter --watch"+flag+"`")
	wantError(t, xdplab(t, inst, "check", "packet_counter", "--watch", "--json"), "--json and --junit write the report of one check")
	if got, _ := xdpProg(t, inst); got != id {
		t.Errorf("a refused --watch changed the program: id %s, was %s", got, id)
	}
	mustSucceed(t, xdplab(t, inst, "down"))

	mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--bare"))
	wantError(t, xdplab(t, inst, "check", "packet_counter", "--watch"),
		"--watch needs a lab up with --src or --obj, and packet_counter is up --bare", "`xdplab check packet_counter"+flag+"` after each load",
		"`xdplab up packet_counter --src FILE.c"+flag+"`")
	mustSucceed(t, xdplab(t, inst, "down"))
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestCheckWatchLabGoes: a lab taken down while it is watched ends the
// watch at the next change, with exit 2 and the reason.
func TestCheckWatchLabGoes(t *testing.T) {
	inst, _, src, tmp := solutionWorkspace(t)
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--src", src))
	w, _ := startWatch(t, inst, tmp, "packet_counter")
	mustSucceed(t, xdplab(t, inst, "down"))
	writeFile(t, src, readFile(t, src)+"\n")
	select {
	case <-w.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the watch went on after down:\n%s", w.out.String())
	}
	if code := w.cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(w.stderr.String(), "packet_counter is not up in instance "+inst) {
		t.Errorf("watch after down: exit %d, stderr:\n%s", code, w.stderr.String())
	}
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
