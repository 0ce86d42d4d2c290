package exercise

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/xdplab/xdplab/labs"
)

// Workspace is what `xdplab init` writes for one step of a lab: the
// program, its headers, a Makefile and a README.
type Workspace struct {
	Info labs.Info
	Step labs.Step
	// Solution writes the solution instead of the starter.
	Solution bool
	// Headers are laid out as under the workspace's include/.
	Headers fs.FS
}

// DefaultDir is where init writes when it is given no directory: ./<lab>
// for the base exercise, ./<lab>-<step> for a step.
func DefaultDir(lab string, step labs.Step) string {
	if step.Name == "" {
		return lab
	}
	return lab + "-" + step.Name
}

// Program is the step's marked source taken apart.
func (w Workspace) Program() (*Program, error) {
	name := w.Info.Program()
	src, err := fs.ReadFile(w.Step.Files, name)
	if err != nil {
		return nil, fmt.Errorf("%s step %s: %w", w.Info.Name, w.Step.Title(), err)
	}
	return Derive(name, src)
}

// Files are the workspace's files by path relative to its directory.
func (w Workspace) Files() (map[string][]byte, error) {
	p, err := w.Program()
	if err != nil {
		return nil, err
	}
	text, err := fs.ReadFile(w.Step.Files, labs.ExerciseFile)
	if err != nil {
		return nil, fmt.Errorf("%s step %s: %w", w.Info.Name, w.Step.Title(), err)
	}
	files := map[string][]byte{}
	prog := p.Starter
	if w.Solution {
		prog = p.Solution
	}
	files[w.Info.Program()] = prog
	err = fs.WalkDir(w.Headers, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(w.Headers, name)
		files[path.Join("include", name)] = data
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("headers for the workspace: %w", err)
	}
	v := w.view(p, string(text))
	for name, t := range map[string]*template.Template{"Makefile": makefile, "README.md": readme} {
		var b bytes.Buffer
		if err := t.Execute(&b, v); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		files[name] = b.Bytes()
	}
	return files, nil
}

// view is what the Makefile and README templates read.
type view struct {
	Lab, Program, Object, Step string
	Summary, Exercise          string
	Solution                   bool
	Todos                      []Todo
	Steps                      []stepLine
}

type stepLine struct {
	Name, Summary, Init string
	This                bool
}

func (w Workspace) view(p *Program, text string) view {
	v := view{
		Lab: w.Info.Name, Program: w.Info.Program(), Object: w.Info.Name + ".o", Step: w.Step.Title(),
		Summary: w.Step.Summary, Exercise: strings.TrimSpace(text), Solution: w.Solution, Todos: p.Todos,
	}
	for _, s := range w.Info.Steps {
		cmd := "xdplab init " + w.Info.Name
		if s.Name != "" {
			cmd += " --step " + s.Name
		}
		v.Steps = append(v.Steps, stepLine{Name: s.Title(), Summary: s.Summary, Init: cmd, This: s.Name == w.Step.Name})
	}
	return v
}

var makefile = template.Must(template.New("Makefile").Parse(`# {{.Lab}}, step {{.Step}}: a workspace written by ` + "`xdplab init`" + `.
#   make          build {{.Object}} from {{.Program}}
#   make up       load it into the lab (sudo)
#   make check    grade it (sudo)
#   make down     take the lab down (sudo)
# INSTANCE=NAME works on another xdplab instance; XDPLAB=PATH runs another binary.

XDPLAB ?= xdplab
SUDO ?= sudo
LAB := {{.Lab}}
STEP := {{.Step}}
ifdef INSTANCE
XDPLAB_FLAGS += --instance $(INSTANCE)
endif

.PHONY: all up check down clean

all: {{.Object}}

{{.Object}}: {{.Program}} $(wildcard include/*/*.h)
	$(XDPLAB) build {{.Program}}

up:
	$(SUDO) $(XDPLAB) up $(LAB) --step $(STEP) --src {{.Program}} $(XDPLAB_FLAGS)

check:
	$(SUDO) $(XDPLAB) check $(LAB) --step $(STEP) $(XDPLAB_FLAGS)

down:
	$(SUDO) $(XDPLAB) down $(LAB) $(XDPLAB_FLAGS)

clean:
	rm -f {{.Object}}
`))

var readme = template.Must(template.New("README.md").Parse(`# {{.Lab}}, step {{.Step}}: {{.Summary}}

{{.Exercise}}

{{if .Solution -}}
## The solution

{{.Program}} is the solution: every TODO of the starter is filled in.
` + "`{{(index .Steps 0).Init}}`" + ` and friends (below) write the starters.
{{- if .Todos}} The starter's TODOs were:
{{range .Todos}}
- TODO {{.N}}: {{.Hint}}
{{- end}}
{{- end}}
{{- else -}}
## Your TODOs in {{.Program}}
{{if .Todos}}{{range .Todos}}
- **TODO {{.N}}** (line {{.Line}}): {{.Hint}}
{{- end}}

When ` + "`check`" + ` fails, each failed expectation's hint names the TODO it
concerns, as in "(TODO 1 in {{.Program}})".
{{- else}}
None: {{.Program}} is complete.
{{- end}}
{{- end}}

## Build, load, grade

` + "```" + `
make              # xdplab build {{.Program}}  -> {{.Object}}
make up           # sudo xdplab up {{.Lab}} --step {{.Step}} --src {{.Program}}
make check        # sudo xdplab check {{.Lab}} --step {{.Step}}
make down         # sudo xdplab down {{.Lab}}
` + "```" + `

` + "`sudo xdplab check {{.Lab}} --watch`" + ` rebuilds, reloads and grades again every
time you save {{.Program}}. The headers your program includes are in include/,
so this directory needs nothing else from xdplab. ` + "`xdplab guide {{.Lab}}`" + `
explains the lab.

## Steps
{{range .Steps}}
- {{if .This}}**{{.Name}}** (this one){{else}}{{.Name}}{{end}}: {{.Summary}} (` + "`{{.Init}}`" + `)
{{- end}}
`))

// Write puts files under dir, creating dir as needed, and returns the paths
// it wrote, sorted. It writes nothing when a file is there already (unless
// force), when dir is a file, or when dir cannot be written: every file is
// written aside first, in a directory of its own inside dir, then moved into
// place.
func Write(dir string, files map[string][]byte, force bool) ([]string, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("workspace %s is a file, not a directory: name a directory (init creates it) or none for ./%s", dir, filepath.Base(dir))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("workspace %s: %w", dir, err)
	}
	var exist []string
	for _, n := range names {
		for d := path.Dir(n); d != "."; d = path.Dir(d) {
			if fi, err := os.Lstat(filepath.Join(dir, d)); err == nil && !fi.IsDir() {
				return nil, fmt.Errorf("%s is a file where the workspace needs a directory: move it away and run init again", filepath.Join(dir, d))
			}
		}
		p := filepath.Join(dir, n)
		fi, err := os.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			return nil, fmt.Errorf("%s is a directory where the workspace writes a file: move it away and run init again", p)
		case err == nil:
			exist = append(exist, p)
		}
	}
	if len(exist) > 0 && !force {
		return nil, fmt.Errorf("%s already %s: init never overwrites a file; add --force to replace %s (what you changed in %s is lost), or name another directory",
			strings.Join(exist, ", "), plural(len(exist), "exists", "exist"), plural(len(exist), "it", "them"), plural(len(exist), "it", "them"))
	}
	made, err := mkdirAll(dir)
	if err != nil {
		return nil, err
	}
	undo := func() {
		if made != "" {
			os.RemoveAll(made)
		}
	}
	stage, err := os.MkdirTemp(dir, ".xdplab-init-")
	if err != nil {
		undo()
		return nil, fmt.Errorf("cannot write in %s: %w", dir, errors.Unwrap(err))
	}
	defer os.RemoveAll(stage)
	for _, n := range names {
		p := filepath.Join(stage, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			undo()
			return nil, fmt.Errorf("write %s: %w", filepath.Join(dir, n), err)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			undo()
			return nil, fmt.Errorf("write %s: %w", filepath.Join(dir, n), err)
		}
	}
	var written []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		err := os.MkdirAll(filepath.Dir(p), 0o755)
		if err == nil {
			err = os.Rename(filepath.Join(stage, n), p)
		}
		if err != nil {
			return written, fmt.Errorf("write %s: %w (written before it: %s)", p, err, strings.Join(written, ", "))
		}
		written = append(written, p)
	}
	return written, nil
}

// mkdirAll creates dir and its missing parents, and returns the topmost
// directory it created ("" when dir was there), for removing on failure.
func mkdirAll(dir string) (string, error) {
	top := ""
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		if top != "" {
			os.RemoveAll(top)
		}
		return "", fmt.Errorf("create workspace %s: %w", dir, err)
	}
	return top, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
