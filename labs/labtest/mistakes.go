package labtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// A Mistake is one learner mistake of a lab's mutation suite: a program that
// compiles and loads but gets something wrong, and the expectation that must
// catch it. It lives in labs/<lab>/testdata/mistakes/<step>/<name>.yaml
// (<step> is "base" for the base exercise) and describes the program as
// edits to the step's solution, so that a change to the solution that the
// edits no longer fit fails the suite instead of testing something else; a
// mistake that no small edit describes names a C file beside it instead.
type Mistake struct {
	// Mistake says in a sentence what the learner got wrong.
	Mistake string `yaml:"mistake"`
	// Edits turn the step's solution into the mistaken program. Each From
	// must occur exactly once in the solution as the edits before it left
	// it.
	Edits []Edit `yaml:"edits"`
	// Source is a C file beside the spec (instead of Edits).
	Source string `yaml:"source"`
	// Fails is (a part of) the name of the expectation that must fail.
	Fails string `yaml:"fails"`
	// Hint is a word the failing expectation's hint must contain: the hint
	// names the mistake (case does not matter).
	Hint string `yaml:"hint"`

	name, step, dir string
}

// Edit replaces the one occurrence of From by To.
type Edit struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// suiteDir is a lab's mutation suite.
func suiteDir(lab string) string { return filepath.Join(labsDir(), lab, "testdata", "mistakes") }

// LoadMistakes reads a lab's mutation suite, every step's, sorted by step
// (course order of the steps) and name.
func LoadMistakes(t *testing.T, lab string) []Mistake {
	t.Helper()
	info := labInfo(t, lab)
	var out []Mistake
	for _, step := range info.Steps {
		dir := filepath.Join(suiteDir(lab), step.Title())
		specs, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		slices.Sort(specs)
		for _, p := range specs {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var m Mistake
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			m.name, m.step, m.dir = strings.TrimSuffix(filepath.Base(p), ".yaml"), step.Name, dir
			switch {
			case m.Mistake == "" || m.Fails == "" || m.Hint == "":
				t.Fatalf("%s: mistake, fails and hint are all needed", p)
			case (len(m.Edits) == 0) == (m.Source == ""):
				t.Fatalf("%s: give edits or a source, one of them", p)
			}
			out = append(out, m)
		}
	}
	return out
}

// Name is the mistake's name: its file's, with the step ("base/byte_order").
func (m Mistake) Name() string { return labs.Step{Name: m.step}.Title() + "/" + m.name }

// Program writes the mistaken program into a workspace of its own, as `xdplab
// init --solution` writes it, and compiles it; it returns the object.
func (m Mistake) Program(t *testing.T, lab string) string {
	t.Helper()
	dir, _ := Workspace(t, lab, m.step, true)
	src := filepath.Join(dir, lab+".c")
	var code []byte
	if m.Source != "" {
		b, err := os.ReadFile(filepath.Join(m.dir, m.Source))
		if err != nil {
			t.Fatal(err)
		}
		code = b
	} else {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for i, e := range m.Edits {
			if n := strings.Count(s, e.From); n != 1 {
				t.Fatalf("mistake %s: edit %d: %q occurs %d times in the solution, want once", m.Name(), i+1, e.From, n)
			}
			s = strings.Replace(s, e.From, e.To, 1)
		}
		code = []byte(s)
	}
	if err := os.WriteFile(src, code, 0o644); err != nil {
		t.Fatal(err)
	}
	return Compile(t, dir, lab)
}

// MistakesCaught runs every mistake of a lab's suite through the runner, as
// `xdplab run <lab> --obj mistake.o --step S` does, in the step's default mode:
// the verdict is fail (exit 1, not an error), the expectation named by Fails
// fails, and its hint contains the mistake's Hint word. It also requires the
// suite's table (README.md next to it) to list every mistake with the
// expectation that catches it, and at least min mistakes per step.
func MistakesCaught(t *testing.T, lab string, min int) {
	testutils.RequirePrivileged(t)
	mistakes := LoadMistakes(t, lab)
	info := labInfo(t, lab)
	per := map[string]int{}
	for _, m := range mistakes {
		per[m.step]++
	}
	for _, s := range info.Steps {
		if per[s.Name] < min {
			t.Errorf("step %s has %d mistakes in its suite, want at least %d", s.Title(), per[s.Name], min)
		}
	}
	checkTable(t, lab, mistakes)
	for _, m := range mistakes {
		t.Run(m.Name(), func(t *testing.T) {
			mode := labs.Mode("")
			if modes := info.ForStep(m.step).Modes; len(modes) > 0 {
				mode = modes[0]
			}
			obj := m.Program(t, lab)
			rep := run(t, lab, labs.Options{Mode: mode, Obj: obj, Step: m.step})
			_, _, text := rep.Describe()
			if rep.Verdict != labs.VerdictFail {
				t.Fatalf("%s (%s): verdict %s, want fail:\n%s", m.Name(), m.Mistake, rep.Verdict, text)
			}
			for _, r := range rep.Results {
				if !r.Pass && r.Skipped == "" && strings.Contains(r.Name, m.Fails) {
					if !strings.Contains(strings.ToLower(r.Hint), strings.ToLower(m.Hint)) {
						t.Errorf("%s (%s): %q fails, but its hint does not say %q:\n%s", m.Name(), m.Mistake, r.Name, m.Hint, text)
					}
					return
				}
			}
			t.Errorf("%s (%s): no failing expectation named like %q:\n%s", m.Name(), m.Mistake, m.Fails, text)
		})
	}
}

// tableRow is "| base/byte_order | what went wrong | caught by |".
var tableRow = regexp.MustCompile(`(?m)^\| *([a-z0-9_]+/[a-z0-9_]+) *\|[^|]*\| *(.+?) *\|$`)

// checkTable requires testdata/mistakes/README.md to have one row per
// mistake, naming the expectation that catches it.
func checkTable(t *testing.T, lab string, mistakes []Mistake) {
	t.Helper()
	readme := filepath.Join(suiteDir(lab), "README.md")
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Errorf("the mutation suite has no table: %v", err)
		return
	}
	rows := map[string]string{}
	for _, m := range tableRow.FindAllStringSubmatch(string(b), -1) {
		rows[m[1]] = m[2]
	}
	for _, m := range mistakes {
		caught, ok := rows[m.Name()]
		switch {
		case !ok:
			t.Errorf("%s has no row for %s", readme, m.Name())
		case !strings.Contains(caught, m.Fails):
			t.Errorf("%s says %s is caught by %q, its spec by %q", readme, m.Name(), caught, m.Fails)
		}
		delete(rows, m.Name())
	}
	for name := range rows {
		t.Errorf("%s has a row for %s, which the suite does not have", readme, name)
	}
}

// CorrectProgramsPass runs every object in labs/<lab>/testdata/correct/<step>/
// (programs written in another style than the lab's own: the legacy maps
// section, other parsing, load_byte helpers; built by `make generate`) in
// every mode the step supports, and requires every expectation to pass; at
// least min per step.
func CorrectProgramsPass(t *testing.T, lab string, min int) {
	info := labInfo(t, lab)
	for _, s := range info.Steps {
		modes := info.ForStep(s.Name).Modes
		if len(modes) == 0 {
			modes = []labs.Mode{""}
		}
		dir := filepath.Join(labsDir(), lab, "testdata", "correct", s.Title())
		objs, _ := filepath.Glob(filepath.Join(dir, "*.o"))
		if len(objs) < min {
			t.Errorf("step %s has %d correct programs in %s, want at least %d", s.Title(), len(objs), dir, min)
		}
		for _, obj := range objs {
			for _, mode := range modes {
				t.Run(fmt.Sprintf("%s/%s/%s", s.Title(), filepath.Base(obj), mode), func(t *testing.T) {
					Passes(t, lab, labs.Options{Mode: mode, Obj: obj, Step: s.Name})
				})
			}
		}
	}
}

func labInfo(t *testing.T, lab string) labs.Info {
	t.Helper()
	l, err := course.Registry().Get(lab)
	if err != nil {
		t.Fatal(err)
	}
	info := l.Info()
	if len(info.Steps) == 0 {
		t.Fatalf("%s has no exercises: its suite is written against its steps' solutions", lab)
	}
	return info
}
