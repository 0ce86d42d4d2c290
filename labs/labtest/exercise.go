package labtest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/build"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/exercise"
)

// archInclude is the multiarch directory that holds asm/ on Debian and
// Ubuntu, as the Makefile's ARCH_INCLUDE.
var archInclude = map[string]string{"amd64": "/usr/include/x86_64-linux-gnu", "arm64": "/usr/include/aarch64-linux-gnu"}

// Workspace writes what `xdplab init <lab> --step step [--solution]` writes
// into a fresh directory, and returns the directory and the exercise.
func Workspace(t *testing.T, lab, step string, solution bool) (string, *exercise.Program) {
	t.Helper()
	l, err := course.Registry().Get(lab)
	if err != nil {
		t.Fatal(err)
	}
	info := l.Info()
	s, err := info.Step(step)
	if err != nil {
		t.Fatal(err)
	}
	ws := exercise.Workspace{Info: info, Step: s, Solution: solution, Headers: build.Headers()}
	files, err := ws.Files()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := exercise.Write(dir, files, false); err != nil {
		t.Fatal(err)
	}
	p, err := ws.Program()
	if err != nil {
		t.Fatal(err)
	}
	return dir, p
}

// Compile builds a workspace's program as its Makefile does, with the
// workspace's include/ and no header of the xdplab tree, and fails the test
// on any warning: a starter must compile cleanly before the learner writes
// a line.
func Compile(t *testing.T, dir, lab string) string {
	t.Helper()
	testutils.RequireTool(t, "clang")
	src := filepath.Join(dir, lab+".c")
	obj := filepath.Join(dir, lab+".o")
	cmd := exec.Command("clang", "-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-mcpu=v3",
		"-I"+archInclude[runtime.GOARCH], "-I"+filepath.Join(dir, "include"), "-c", src, "-o", obj)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return obj
}

// ExercisesGraded checks every exercise of a lab, in every mode, as a
// learner meets it: the starter `init` writes compiles, loads and fails
// check, every failed expectation has a hint that names a TODO of the
// starter, and each TODO is named by some hint; the solution `init
// --solution` writes compiles and passes.
func ExercisesGraded(t *testing.T, lab string) {
	l, err := course.Registry().Get(lab)
	if err != nil {
		t.Fatal(err)
	}
	info := l.Info()
	if len(info.Steps) == 0 {
		t.Fatalf("%s has no exercises", lab)
	}
	for _, step := range info.Steps {
		t.Run(step.Title(), func(t *testing.T) {
			testutils.RequirePrivileged(t)
			startDir, starter := Workspace(t, lab, step.Name, false)
			startObj := Compile(t, startDir, lab)
			solDir, _ := Workspace(t, lab, step.Name, true)
			solObj := Compile(t, solDir, lab)
			modes := info.ForStep(step.Name).Modes
			if len(modes) == 0 {
				modes = []labs.Mode{""} // a lab without XDP runs in none
			}
			for _, mode := range modes {
				name := string(mode)
				if name == "" {
					name = "no mode"
				}
				t.Run(name, func(t *testing.T) {
					rep := run(t, lab, labs.Options{Mode: mode, Obj: startObj, Step: step.Name})
					StarterFails(t, rep, info.Program(), starter.Todos)
					Passes(t, lab, labs.Options{Mode: mode, Obj: solObj, Step: step.Name})
				})
			}
		})
	}
}

// run is the runner's run of one lab, which must run to its end.
func run(t *testing.T, lab string, opts labs.Options) *labs.Report {
	t.Helper()
	reports, err := Runner(t).Run(context.Background(), []string{lab}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Error != "" {
		t.Fatalf("want one report without error, got %+v", reports)
	}
	return reports[0]
}

// StarterFails requires a report on a starter to fail, every failed
// expectation's hint to name a TODO of program ("(TODO 2 in lab.c)"), and
// every TODO to be named by one of them.
func StarterFails(t *testing.T, rep *labs.Report, program string, todos []exercise.Todo) {
	t.Helper()
	_, _, text := rep.Describe()
	if rep.Verdict != labs.VerdictFail {
		t.Fatalf("the starter's verdict is %s, want fail:\n%s", rep.Verdict, text)
	}
	named := map[int]bool{}
	for _, r := range rep.Results {
		if r.Pass {
			continue
		}
		found := false
		for _, td := range todos {
			if strings.Contains(r.Hint, fmt.Sprintf("(TODO %d in %s)", td.N, program)) {
				named[td.N], found = true, true
			}
		}
		if !found {
			t.Errorf("%q failed with a hint that names no TODO of %s: %q", r.Name, program, r.Hint)
		}
	}
	for _, td := range todos {
		if !named[td.N] {
			t.Errorf("no failed expectation's hint names TODO %d (%s)", td.N, td.Hint)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
