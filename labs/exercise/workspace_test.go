package exercise_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/exercise"
)

// TestEveryLabsExercises: every step of every lab derives (its markers are
// sound), leaves the learner at least one TODO, and renders a workspace.
func TestEveryLabsExercises(t *testing.T) {
	n := 0
	for _, l := range course.Registry().All() {
		info := l.Info()
		for _, s := range info.Steps {
			n++
			ws := exercise.Workspace{Info: info, Step: s, Headers: fstest.MapFS{"bpf/bpf_helpers.h": {Data: []byte("/* */")}}}
			p, err := ws.Program()
			if err != nil {
				t.Errorf("%s step %s: %v", info.Name, s.Title(), err)
				continue
			}
			if len(p.Todos) == 0 {
				t.Errorf("%s step %s: no TODO, nothing for the learner to write", info.Name, s.Title())
			}
			if _, err := ws.Files(); err != nil {
				t.Errorf("%s step %s: %v", info.Name, s.Title(), err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no lab has exercises")
	}
}

func workspace(solution bool) exercise.Workspace {
	files := fstest.MapFS{
		"demo.c":      {Data: []byte("int x;\n/* xdplab:todo 1: set y */\nint y = 1;\n/* xdplab:end */\n")},
		"exercise.md": {Data: []byte("## Goal\n\nSet y.\n")},
	}
	info := labs.Info{Name: "demo", Steps: []labs.Step{{Summary: "the base", Files: files}, {Name: "more", Summary: "more", Files: files}}}
	return exercise.Workspace{Info: info, Step: info.Steps[1], Solution: solution,
		Headers: fstest.MapFS{"bpf/bpf_helpers.h": {Data: []byte("/* helpers */\n")}, "xdplab/parse.h": {Data: []byte("/* parse */\n")}}}
}

// TestFiles: the workspace holds the program, the headers under include/,
// the Makefile and the README, which carries the exercise, the TODOs and
// the steps.
func TestFiles(t *testing.T) {
	files, err := workspace(false).Files()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"Makefile", "README.md", "demo.c", "include/bpf/bpf_helpers.h", "include/xdplab/parse.h"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if got := string(files["demo.c"]); got != "int x;\n/* TODO 1: set y */\n" {
		t.Errorf("demo.c = %q", got)
	}
	readme := string(files["README.md"])
	for _, w := range []string{"# demo, step more: more", "## Goal\n\nSet y.", "- **TODO 1** (line 2): set y",
		"make up           # sudo xdplab up demo --step more --src demo.c", "- base: the base (`xdplab init demo`)",
		"- **more** (this one): more (`xdplab init demo --step more`)"} {
		if !strings.Contains(readme, w) {
			t.Errorf("README.md lacks %q:\n%s", w, readme)
		}
	}
	if mk := string(files["Makefile"]); !strings.Contains(mk, "STEP := more") || !strings.Contains(mk, "demo.o: demo.c") {
		t.Errorf("Makefile:\n%s", mk)
	}
	files, err = workspace(true).Files()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["demo.c"]); got != "int x;\nint y = 1;\n" {
		t.Errorf("the solution's demo.c = %q", got)
	}
	if readme := string(files["README.md"]); !strings.Contains(readme, "demo.c is the solution") || !strings.Contains(readme, "- TODO 1: set y") {
		t.Errorf("the solution's README:\n%s", readme)
	}
}

// TestWrite: files land under a directory that is made as needed; a
// second write refuses, naming every file in the way, and changes nothing;
// force replaces; nothing of the staging is left.
func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "ws")
	files := map[string][]byte{"demo.c": []byte("c"), "include/bpf/h.h": []byte("h"), "Makefile": []byte("m")}
	written, err := exercise.Write(dir, files, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 3 || written[0] != filepath.Join(dir, "Makefile") {
		t.Errorf("written %v", written)
	}
	os.WriteFile(filepath.Join(dir, "demo.c"), []byte("mine"), 0o644)
	_, err = exercise.Write(dir, map[string][]byte{"demo.c": []byte("new"), "Makefile": []byte("new"), "README.md": []byte("r")}, false)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "Makefile")+", "+filepath.Join(dir, "demo.c")+" already exist") {
		t.Fatalf("second write: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "demo.c")); string(b) != "mine" {
		t.Errorf("demo.c became %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err == nil {
		t.Error("a refused write wrote README.md")
	}
	if _, err := exercise.Write(dir, map[string][]byte{"demo.c": []byte("new")}, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "demo.c")); string(b) != "new" {
		t.Errorf("force left demo.c %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".xdplab-init-") {
			t.Errorf("staging %s left behind", e.Name())
		}
	}
	// A file where a directory of the workspace goes, and a directory where
	// a file goes.
	os.RemoveAll(filepath.Join(dir, "include"))
	os.WriteFile(filepath.Join(dir, "include"), []byte("x"), 0o644)
	if _, err := exercise.Write(dir, files, true); err == nil || !strings.Contains(err.Error(), "is a file where the workspace needs a directory") {
		t.Errorf("include a file: %v", err)
	}
	os.Remove(filepath.Join(dir, "include"))
	os.Remove(filepath.Join(dir, "Makefile"))
	os.Mkdir(filepath.Join(dir, "Makefile"), 0o755)
	if _, err := exercise.Write(dir, files, true); err == nil || !strings.Contains(err.Error(), "is a directory where the workspace writes a file") {
		t.Errorf("Makefile a directory: %v", err)
	}
}
