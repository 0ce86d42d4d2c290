package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestManPages: every command and subcommand help lists has a page, which
// names each of its flags, and groff reads every page without a warning.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	mustSucceed(t, xdplabCmd(t, exec.Command(bin, "__man", dir)))
	page := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name+".1"))
		if err != nil {
			t.Errorf("no man page %s: %v", name, err)
		}
		return string(b)
	}
	main := page("xdplab")
	pages := 1
	var walk func(cmds []*cli.Command, path []string)
	walk = func(cmds []*cli.Command, path []string) {
		for _, cmd := range visible(cmds) {
			p := append(append([]string{}, path...), cmd.Name)
			name := manPage(p)
			text := page(name)
			pages++
			if !strings.Contains(text, ".SH NAME\n"+name+` \- `) {
				t.Errorf("%s.1 has no NAME line:\n%s", name, text)
			}
			for _, f := range cmd.Flags {
				n := f.Names()[0]
				dashes := `\-\-`
				if len(n) == 1 {
					dashes = `\-`
				}
				if flag := `\fB` + dashes + roff(n) + `\fR`; !strings.Contains(text, flag) {
					t.Errorf("%s.1 does not describe %s", name, f.Names()[0])
				}
			}
			if len(path) == 0 && !strings.Contains(main, `\fB`+name+`\fR(1)`) {
				t.Errorf("xdplab.1 does not point to %s(1)", name)
			}
			walk(cmd.Subcommands, p)
		}
	}
	walk(newApp().Commands, nil)
	entries, _ := os.ReadDir(dir)
	if len(entries) != pages {
		t.Errorf("%d pages written, %d commands (and xdplab.1)", len(entries), pages)
	}
	for _, hidden := range []string{completeCmd, "__man"} {
		if _, err := os.Stat(filepath.Join(dir, manPage([]string{hidden})+".1")); err == nil {
			t.Errorf("a hidden command has a page: %s", hidden)
		}
	}

	requireTool(t, "groff")
	for _, e := range entries {
		out, err := exec.Command("groff", "-man", "-ww", "-z", filepath.Join(dir, e.Name())).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff on %s: %v\n%s", e.Name(), err, out)
		}
	}
}

// TestMakeInstallManPages: `make install` installs the binary and the
// pages where man finds them (PREFIX keeps the test out of /usr/local).
func TestMakeInstallManPages(t *testing.T) {
	requireTool(t, "make")
	requireTool(t, "man")
	prefix := t.TempDir()
	build := filepath.Join(t.TempDir(), "xdplab")
	cmd := exec.Command("make", "-C", "../..", "install", "PREFIX="+prefix, "BIN="+build)
	mustSucceed(t, xdplabCmd(t, cmd))
	if _, err := os.Stat(filepath.Join(prefix, "bin", "xdplab")); err != nil {
		t.Errorf("make install did not install the binary: %v", err)
	}
	for _, name := range []string{"xdplab", "xdplab-up", "xdplab-traffic-ping", "xdplab-completion"} {
		where := exec.Command("man", "-w", name)
		where.Env = append(os.Environ(), "MANPATH="+filepath.Join(prefix, "share", "man"))
		r := mustSucceed(t, xdplabCmd(t, where))
		if want := filepath.Join(prefix, "share", "man", "man1", name+".1"); strings.TrimSpace(r.stdout) != want {
			t.Errorf("man -w %s = %q, want %s", name, r.stdout, want)
		}
	}
	if left, _ := filepath.Glob(build + ".*"); len(left) > 0 {
		t.Errorf("make install left %v", left)
	}
}
