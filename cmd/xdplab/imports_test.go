package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs/course"
)

// TestNoLabPackageImported: the command line knows labs only through the
// registry. A lab's own command comes in as data (labs.Command), so adding
// a lab never touches cmd/xdplab.
func TestNoLabPackageImported(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/xdplab/xdplab/labs": true, "github.com/xdplab/xdplab/labs/course": true,
		// Not a lab: what init writes for any lab's exercise.
		"github.com/xdplab/xdplab/labs/exercise": true,
		// Not a lab: the languages the guides are written in (guide --lang).
		"github.com/xdplab/xdplab/labs/guide": true,
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		seen++
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/xdplab/xdplab/labs") && !allowed[path] {
				t.Errorf("%s imports %s: cmd/xdplab reaches labs through labs/course only", f, path)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("read only %d files: the glob is broken", seen)
	}
}

// TestLabCommandsMounted: every command a lab contributes is on the
// command line, under its own name (none hides one of xdplab's), with
// --instance, --json where it takes it, and the root check.
func TestLabCommandsMounted(t *testing.T) {
	app := newApp()
	names := map[string]int{}
	for _, c := range app.Commands {
		names[c.Name]++
	}
	var walk func(path string, lc []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := path + " " + c.Name
			if c.Action != nil {
				if c.Before == nil {
					t.Errorf("%s has no root check", p)
				}
				if lookupFlag(c.Flags, "--instance") == nil {
					t.Errorf("%s lacks --instance", p)
				}
			}
			walk(p, c.Subcommands)
		}
	}
	n := 0
	for _, lc := range course.Registry().Commands() {
		n++
		if names[lc.Name] != 1 {
			t.Errorf("lab command %s appears %d times among xdplab's commands", lc.Name, names[lc.Name])
		}
		cmd := app.Command(lc.Name)
		if cmd == nil {
			t.Errorf("lab command %s is not mounted", lc.Name)
			continue
		}
		walk("xdplab", []*cli.Command{cmd})
	}
	if n == 0 {
		t.Fatal("no lab contributes a command: basic_firewall's fw is gone")
	}
	if list := app.Command("fw").Command("list"); lookupFlag(list.Flags, "--json") == nil {
		t.Error("fw list lacks --json")
	}
	if add := app.Command("fw").Command("add"); lookupFlag(add.Flags, "--json") != nil {
		t.Error("fw add has --json, which it does not take")
	}
}
