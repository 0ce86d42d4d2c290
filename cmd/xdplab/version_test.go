package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionOf: the version shown is -X main.version's, else Go's module
// version, else "devel" with the commit Go stamped; the commit is read from
// vcs.revision, with -dirty for a modified tree.
func TestVersionOf(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	clean := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}
	dirty := []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}
	for _, c := range []struct {
		name                    string
		ldflags, module         string
		settings                []debug.BuildSetting
		wantVersion, wantCommit string
	}{
		{"make build", "v1.2.0-3-g0123456", "(devel)", clean, "v1.2.0-3-g0123456 go1.26.8", rev},
		{"plain go build in a clone", "", "v0.0.0-20261203142938-0123456789ab", clean, "v0.0.0-20261203142938-0123456789ab go1.26.8", rev},
		{"go build, modified tree", "", "(devel)", dirty, "devel-0123456789ab-dirty go1.26.8", rev + "-dirty"},
		{"go build, no VCS stamp", "", "(devel)", nil, "devel go1.26.8", ""},
		{"go run", "", "", nil, "devel go1.26.8", ""},
	} {
		if got := versionOf(c.ldflags, c.module, "go1.26.8", c.settings); got != c.wantVersion {
			t.Errorf("%s: version %q, want %q", c.name, got, c.wantVersion)
		}
		if got := commitOf(c.settings); got != c.wantCommit {
			t.Errorf("%s: commit %q, want %q", c.name, got, c.wantCommit)
		}
	}
}

// TestVersionFlag: --version prints what the version command prints, a
// version line and a commit line, and exits 0.
func TestVersionFlag(t *testing.T) {
	cmd := mustSucceed(t, xdplabCmd(t, exec.Command(bin, "version")))
	flag := mustSucceed(t, xdplabCmd(t, exec.Command(bin, "--version")))
	if flag.stdout != cmd.stdout {
		t.Errorf("--version printed %q, version printed %q", flag.stdout, cmd.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(cmd.stdout, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "xdplab ") || !strings.HasPrefix(lines[1], "commit ") {
		t.Errorf("version prints %q, want an xdplab line and a commit line", cmd.stdout)
	}
}

// TestVersionOfACloneBuild: a plain `go build` in a git clone (VCS stamping
// on, as Go's default is) prints the clone's commit. This machine's go env
// may turn stamping off, and a worktree's build has none: the test clones
// the repository and asks for -buildvcs=true.
func TestVersionOfACloneBuild(t *testing.T) {
	requireTool(t, "git")
	top := strings.TrimSpace(run(t, "git", "rev-parse", "--show-toplevel"))
	head := strings.TrimSpace(run(t, "git", "rev-parse", "HEAD"))
	clone := filepath.Join(t.TempDir(), "xdplab")
	run(t, "git", "clone", "-q", "--no-hardlinks", top, clone)
	run(t, "git", "-C", clone, "checkout", "-q", head)
	out := filepath.Join(t.TempDir(), "xdplab")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", out, "./cmd/xdplab")
	build.Dir = clone
	build.Env = append(os.Environ(), "GOFLAGS=")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in the clone: %v\n%s", err, b)
	}
	r := mustSucceed(t, xdplabCmd(t, exec.Command(out, "version")))
	if !strings.Contains(r.stdout, "\ncommit "+head+"\n") {
		t.Errorf("version of a build at %s:\n%s", head, r.stdout)
	}
	if !strings.Contains(r.stdout, head[:12]) || strings.Contains(r.stdout, "devel go") {
		t.Errorf("the version line does not name the commit:\n%s", r.stdout)
	}
}
