package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/course"
)

// nobody runs the binary as user nobody, in dir when it is not "".
func nobody(t *testing.T, dir string, args ...string) result {
	t.Helper()
	testutils.RequirePrivileged(t) // only root may switch to nobody
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return xdplabCmd(t, cmd)
}

// nobodysDir is a fresh directory that nobody owns (t.TempDir's parent is
// closed to other users).
func nobodysDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xdplab-init-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tree lists the files under dir, relative to it.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	return files
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInit: init needs no root. It writes the starter (TODOs, no markers),
// the headers under include/, a Makefile whose targets run xdplab with the
// step, and a README with the TODOs and the commands; --solution writes the
// solution; the default directory is ./<lab> or ./<lab>-<step>.
func TestInit(t *testing.T) {
	dir := nobodysDir(t)
	r := nobody(t, dir, "init", "packet_counter")
	if r.code != 0 || !strings.Contains(r.stdout, "wrote") || !strings.Contains(r.stdout, "make check") {
		t.Fatalf("init as nobody: %s", r)
	}
	ws := filepath.Join(dir, "packet_counter")
	want := []string{"Makefile", "README.md", "include/bpf/README", "include/bpf/bpf_endian.h", "include/bpf/bpf_helper_defs.h",
		"include/bpf/bpf_helpers.h", "include/bpf/bpf_tracing.h", "include/xdplab/parse.h", "include/xdplab/xdpcap.h", "packet_counter.c"}
	if got := tree(t, ws); !slices.Equal(got, want) {
		t.Errorf("workspace holds %v, want %v", got, want)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(ws, "packet_counter.c"), &st); err != nil || st.Uid != 65534 {
		t.Errorf("packet_counter.c is not nobody's (uid %d, %v)", st.Uid, err)
	}
	starter := readFile(t, filepath.Join(ws, "packet_counter.c"))
	for _, w := range []string{"/* TODO 1: find the IPv4 header", "/* TODO 2:", "/* TODO 3:", "\treturn XDP_PASS; /* remove this line when you write TODO 1 */"} {
		if !strings.Contains(starter, w) {
			t.Errorf("the starter lacks %q:\n%s", w, starter)
		}
	}
	for _, no := range []string{"xdplab:", "go:build", "*count = bpf_map_lookup_elem"} {
		if strings.Contains(starter, no) {
			t.Errorf("the starter holds %q:\n%s", no, starter)
		}
	}
	readme := readFile(t, filepath.Join(ws, "README.md"))
	for _, w := range []string{"# packet_counter, step base:", "**TODO 1** (line ", "**TODO 3**", "(TODO 1 in packet_counter.c)",
		"make up           # sudo xdplab up packet_counter --step base --src packet_counter.c",
		"sudo xdplab check packet_counter --watch", "`xdplab init packet_counter --step drop_icmp`", "**base** (this one)"} {
		if !strings.Contains(readme, w) {
			t.Errorf("README.md lacks %q:\n%s", w, readme)
		}
	}
	requireTool(t, "make")
	for target, w := range map[string]string{
		"":      "xdplab build packet_counter.c",
		"up":    "sudo xdplab up packet_counter --step base --src packet_counter.c",
		"check": "sudo xdplab check packet_counter --step base --instance class1",
	} {
		args := []string{"-n", "-C", ws}
		if target != "" {
			args = append(args, target)
		}
		if target == "check" {
			args = append(args, "INSTANCE=class1")
		}
		if out, _ := exec.Command("make", args...).CombinedOutput(); !strings.Contains(string(out), w) {
			t.Errorf("make %s runs\n%s\nwant %q", target, out, w)
		}
	}

	r = nobody(t, dir, "init", "packet_counter", "--step", "ipv6", "--solution")
	if r.code != 0 {
		t.Fatalf("init --step ipv6 --solution: %s", r)
	}
	sol := readFile(t, filepath.Join(dir, "packet_counter-ipv6", "packet_counter.c"))
	if strings.Contains(sol, "TODO") || strings.Contains(sol, "xdplab:") || !strings.Contains(sol, "key = ip6->nexthdr;") {
		t.Errorf("the ipv6 solution:\n%s", sol)
	}
	if readme := readFile(t, filepath.Join(dir, "packet_counter-ipv6", "README.md")); !strings.Contains(readme, "is the solution") ||
		!strings.Contains(readme, "--step ipv6") {
		t.Errorf("the solution's README:\n%s", readme)
	}
}

// TestInitRefuses: init never overwrites a file without --force and names
// the ones in the way; with --force it replaces them. A DIR that is a file,
// a directory nobody may write, an unknown step, a lab without exercises:
// exit 2 with the reason, and nothing written.
func TestInitRefuses(t *testing.T) {
	dir := nobodysDir(t)
	ws := filepath.Join(dir, "ws")
	if r := nobody(t, dir, "init", "packet_counter", ws, "--step", "drop_icmp"); r.code != 0 {
		t.Fatalf("init: %s", r)
	}
	mine := filepath.Join(ws, "packet_counter.c")
	if err := os.WriteFile(mine, []byte("my work\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tree(t, ws)
	r := nobody(t, dir, "init", "packet_counter", ws)
	wantError(t, r, mine, filepath.Join(ws, "Makefile"), "already exist", "init never overwrites a file", "--force")
	if got := readFile(t, mine); got != "my work\n" {
		t.Errorf("init without --force changed packet_counter.c: %q", got)
	}
	if got := tree(t, ws); !slices.Equal(got, before) {
		t.Errorf("init without --force left %v, had %v", got, before)
	}
	if r := nobody(t, dir, "init", "packet_counter", ws, "--force"); r.code != 0 {
		t.Fatalf("init --force: %s", r)
	}
	if got := readFile(t, mine); !strings.Contains(got, "/* TODO 1:") {
		t.Errorf("init --force did not replace packet_counter.c: %q", got)
	}

	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantError(t, nobody(t, dir, "init", "packet_counter", file), file+" is a file, not a directory")
	if got := readFile(t, file); got != "x" {
		t.Errorf("the file became %q", got)
	}

	// Root's directory, which nobody may not write in.
	closed, err := os.MkdirTemp("", "xdplab-init-closed")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(closed) })
	os.Chmod(closed, 0o755)
	wantError(t, nobody(t, dir, "init", "packet_counter", closed), "cannot write in "+closed, "permission denied")
	wantError(t, nobody(t, dir, "init", "packet_counter", filepath.Join(closed, "sub")), "create workspace "+filepath.Join(closed, "sub"), "permission denied")
	if got := tree(t, closed); len(got) != 0 {
		t.Errorf("a refused init left %v", got)
	}

	wantError(t, nobody(t, dir, "init", "packet_counter", "--step", "nope"), `packet_counter has no step "nope": its steps are base, drop_icmp, ipv6`)
	wantError(t, nobody(t, dir, "init", "xdp_dump"), "xdp_dump has no exercise workspace yet")
	wantError(t, nobody(t, dir, "init"), "name a lab")
	if _, err := os.Stat(filepath.Join(dir, "packet_counter-nope")); err == nil {
		t.Error("init with an unknown step wrote a workspace")
	}
}

// TestStepsCommand: steps lists the base exercise and the steps with their
// summaries for anyone, and marks the step that is up.
func TestStepsCommand(t *testing.T) {
	inst := testutils.Instance(t)
	r := nobody(t, "", "steps", "packet_counter", "--instance", inst)
	if r.code != 0 {
		t.Fatalf("steps as nobody: %s", r)
	}
	for _, w := range []string{"base             count packets per IPv4 protocol", "drop_icmp        drop ICMP, still counting every protocol",
		"ipv6             count IPv6 packets too", "xdplab init packet_counter --step STEP"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("steps lacks %q:\n%s", w, r.stdout)
		}
	}
	if upSteps(t, inst) != nil {
		t.Errorf("a step is up in a fresh instance:\n%s", r.stdout)
	}
	r = mustSucceed(t, xdplab(t, inst, "steps", "xdp_dump"))
	var withSteps []string
	for _, l := range course.Registry().All() {
		if len(l.Info().Steps) > 0 {
			withSteps = append(withSteps, l.Info().Name)
		}
	}
	if !strings.Contains(r.stdout, "base ") || !strings.Contains(r.stdout, "labs with exercises: "+strings.Join(withSteps, ", ")) {
		t.Errorf("steps xdp_dump:\n%s", r.stdout)
	}

	t.Cleanup(func() { xdplab(t, inst, "down") })
	up := mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--step", "drop_icmp"))
	if !strings.Contains(up.stdout, "packet_counter is up (generic mode, step drop_icmp, instance "+inst+")") {
		t.Errorf("up does not say the step:\n%s", up.stdout)
	}
	if got := upSteps(t, inst); !slices.Equal(got, []string{"drop_icmp"}) {
		t.Errorf("steps shows %v up, want drop_icmp", got)
	}
	r = mustSucceed(t, xdplab(t, inst, "steps", "packet_counter"))
	if !strings.Contains(r.stdout, "drop_icmp    up  drop ICMP") {
		t.Errorf("steps does not mark drop_icmp up:\n%s", r.stdout)
	}
}

// upSteps are the steps `steps --json` marks up.
func upSteps(t *testing.T, inst string) []string {
	t.Helper()
	r := mustSucceed(t, xdplab(t, inst, "steps", "packet_counter", "--json"))
	var rows []struct {
		Step, Summary string
		Up            bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("steps --json: %v\n%s", err, r.stdout)
	}
	var up []string
	for _, rw := range rows {
		if rw.Summary == "" {
			t.Errorf("step %s has no summary", rw.Step)
		}
		if rw.Up {
			up = append(up, rw.Step)
		}
	}
	return up
}

// TestStepFlags: up, check and run take --step; an unknown step is a usage
// error listing the lab's steps, check --step on a lab up with another step
// names both, and check grades the step that is up.
func TestStepFlags(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	wantError(t, xdplab(t, inst, "up", "packet_counter", "--step", "nope"),
		`packet_counter has no step "nope": its steps are base, drop_icmp, ipv6 (`+"`xdplab steps packet_counter`")
	wantError(t, xdplab(t, inst, "run", "packet_counter", "--step", "nope"), `packet_counter has no step "nope"`)
	wantError(t, xdplab(t, inst, "up", "xdp_dump", "--step", "ipv6"), "xdp_dump has no steps")
	wantError(t, xdplab(t, inst, "run", "packet_counter", "xdp_dump", "--step", "ipv6"), "--step chooses one lab's exercise: name exactly one lab")
	wantError(t, xdplab(t, inst, "check", "--step", "ipv6"), "--step ipv6 names a step of one lab: name the lab too")
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Fatalf("a refused command left %v", left)
	}

	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter", "--step", "drop_icmp", "--mode", "native"))
	r := xdplab(t, inst, "check", "packet_counter", "--step", "ipv6")
	wantError(t, r, "packet_counter is up with step drop_icmp, not ipv6", "xdplab check packet_counter --instance "+inst,
		"xdplab up packet_counter --mode native --step ipv6 --instance "+inst)
	wantError(t, xdplab(t, inst, "check", "packet_counter", "--step", "base"), "packet_counter is up with step drop_icmp, not base")
	wantError(t, xdplab(t, inst, "check", "packet_counter", "--step", "nope"), `packet_counter has no step "nope"`)
	for _, args := range [][]string{{"check", "packet_counter", "--step", "drop_icmp"}, {"check", "packet_counter"}, {"check"}} {
		if r := xdplab(t, inst, args...); r.code != 0 || !strings.Contains(r.stdout, "get no reply") {
			t.Errorf("%v on drop_icmp: %s", args, r)
		}
	}
	mustSucceed(t, xdplab(t, inst, "down", "packet_counter"))
	// run grades the step it loads, and the base exercise's check fails the
	// step's program: pings go unanswered.
	if r := xdplab(t, inst, "run", "packet_counter", "--step", "ipv6"); r.code != 0 || !strings.Contains(r.stdout, "ICMPv6 echo requests") {
		t.Errorf("run --step ipv6: %s", r)
	}
}
