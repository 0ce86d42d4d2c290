package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/xdplab/xdplab/internal/build"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/internal/testutils"
)

// labC is a lab's own C: it includes "xdplab/parse.h" and libbpf's headers
// as a learner's program does.
func labC(t *testing.T, lab string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "labs", lab, lab+".c"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// workspace is a directory laid out as `xdplab init` writes one: the C file
// and include/ with xdplab's headers.
func workspace(t *testing.T, name string, src []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "include"), build.Headers()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// publicDir is a directory anyone may write into, in one anyone may enter
// (t.TempDir's parent is private).
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xdplab-build-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	return dir
}

// in runs xdplab in dir with the environment changed by env ("K=V").
func in(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return xdplabCmd(t, cmd)
}

// listDir lists what dir holds, to see what a build left.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

const syntaxError = "#include \"xdplab/parse.h\"\nSEC(\"xdp\") int f(struct xdp_md *ctx)\n{\n\treturn XDP_PASS\n}\n"

// TestBuildCommand: `xdplab build` needs no root, builds the one .c file of
// the current directory (or the one named) and says what it wrote; zero or
// several .c files, a compile error, no clang, no kernel headers: each is
// exit 2 with the cause and the fix, and nothing is left behind.
func TestBuildCommand(t *testing.T) {
	testutils.RequireTool(t, "clang")
	clang, _ := exec.LookPath("clang")
	tmp := []string{"TMPDIR=" + t.TempDir()} // the header cache is the test's own
	prog := labC(t, "packet_counter")

	t.Run("no .c file", func(t *testing.T) {
		dir := t.TempDir()
		wantError(t, in(t, dir, tmp, "build"), "no .c file in "+dir, "`xdplab build prog.c`")
	})
	t.Run("several .c files", func(t *testing.T) {
		dir := workspace(t, "b.c", prog)
		os.WriteFile(filepath.Join(dir, "a.c"), prog, 0o644)
		wantError(t, in(t, dir, tmp, "build"), "2 .c files in "+dir+" (a.c, b.c)", "`xdplab build a.c`")
		if left := listDir(t, dir); !slices.Equal(left, []string{"a.c", "b.c", "include"}) {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("the one .c file", func(t *testing.T) {
		dir := workspace(t, "prog.c", prog)
		r := mustSucceed(t, in(t, dir, tmp, "build"))
		if r.stdout != "built prog.o\n" {
			t.Errorf("stdout %q, want %q", r.stdout, "built prog.o\n")
		}
		r = mustSucceed(t, in(t, dir, tmp, "build", "prog.c", "-o", "other.o"))
		if r.stdout != "built other.o\n" {
			t.Errorf("stdout %q, want %q", r.stdout, "built other.o\n")
		}
		if left := listDir(t, dir); !slices.Equal(left, []string{"include", "other.o", "prog.c", "prog.o"}) {
			t.Errorf("directory holds %v", left)
		}
	})
	t.Run("without root", func(t *testing.T) {
		testutils.RequirePrivileged(t) // to run it as nobody
		dir := workspace(t, "prog.c", prog)
		nobodyTmp := publicDir(t)
		os.Rename(dir, filepath.Join(nobodyTmp, "ws"))
		dir = filepath.Join(nobodyTmp, "ws")
		os.Chmod(dir, 0o777)
		cmd := exec.Command(bin, "build")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TMPDIR="+nobodyTmp)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if r := xdplabCmd(t, cmd); r.code != 0 || r.stdout != "built prog.o\n" {
			t.Errorf("build as nobody: %s", r)
		}
	})
	t.Run("compile error", func(t *testing.T) {
		dir := workspace(t, "bad.c", []byte(syntaxError))
		r := in(t, dir, tmp, "build")
		wantError(t, r, "bad.c:4:17: error: expected ';' after return statement", "xdplab: compile bad.c: clang failed (its messages are above)")
		if left := listDir(t, dir); !slices.Equal(left, []string{"bad.c", "include"}) {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("no clang", func(t *testing.T) {
		dir := workspace(t, "prog.c", prog)
		wantError(t, in(t, dir, append(tmp, "PATH="+t.TempDir()), "build"), "clang not found", "`sudo apt-get install clang`")
		if left := listDir(t, dir); !slices.Equal(left, []string{"include", "prog.c"}) {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("no kernel headers", func(t *testing.T) {
		// -nostdinc: clang sees no /usr/include, as on a machine without
		// linux-libc-dev.
		wrapper := t.TempDir()
		os.WriteFile(filepath.Join(wrapper, "clang"), []byte("#!/bin/sh\nexec "+clang+" -nostdinc \"$@\"\n"), 0o755)
		dir := workspace(t, "prog.c", prog)
		wantError(t, in(t, dir, append(tmp, "PATH="+wrapper), "build"),
			"fatal error: 'linux/bpf.h' file not found", "the kernel headers are not installed", "`sudo apt-get install linux-libc-dev`")
		if left := listDir(t, dir); !slices.Equal(left, []string{"include", "prog.c"}) {
			t.Errorf("left behind: %v", left)
		}
	})
}

// TestUpFromSource: `up --src` builds the learner's C and loads it, and the
// state records both paths absolute, so `check` from another directory
// passes; so does a lab up with a relative --obj that its check reads
// again (xdp_dump reads the event layout from the object's BTF).
func TestUpFromSource(t *testing.T) {
	testutils.RequirePrivileged(t)
	testutils.RequireTool(t, "clang")
	tmp := []string{"TMPDIR=" + t.TempDir()}
	elsewhere := t.TempDir()

	t.Run("src", func(t *testing.T) {
		inst := testutils.Instance(t)
		t.Cleanup(func() { xdplab(t, inst, "down") })
		dir := workspace(t, "prog.c", labC(t, "packet_counter"))
		r := mustSucceed(t, in(t, dir, tmp, "up", "packet_counter", "--src", "prog.c", "--instance", inst))
		obj := filepath.Join(dir, "prog.o")
		if !strings.Contains(r.stderr, "built "+obj) {
			t.Errorf("up does not say what it built:\n%s", r)
		}
		rec, err := state.Store{Dir: state.DefaultDir, Instance: inst}.Read("packet_counter")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Src != filepath.Join(dir, "prog.c") || rec.Obj != obj {
			t.Errorf("state records src %q obj %q, want both absolute in %s", rec.Src, rec.Obj, dir)
		}
		r = in(t, elsewhere, nil, "check", "packet_counter", "--instance", inst)
		if r.code != 0 || !strings.Contains(r.stdout, "expectations met") {
			t.Errorf("check from another directory: %s", r)
		}
	})
	t.Run("relative obj", func(t *testing.T) {
		inst := testutils.Instance(t)
		t.Cleanup(func() { xdplab(t, inst, "down") })
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join("..", "..", "labs", "xdp_dump", "bpf_bpfel.o"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "dump.o"), b, 0o644)
		mustSucceed(t, in(t, dir, nil, "up", "xdp_dump", "--obj", "dump.o", "--instance", inst))
		r := in(t, elsewhere, nil, "check", "xdp_dump", "--instance", inst)
		if r.code != 0 || !strings.Contains(r.stdout, "expectations met") {
			t.Errorf("check from another directory: %s", r)
		}
	})
	t.Run("run src", func(t *testing.T) {
		inst := testutils.Instance(t)
		dir := workspace(t, "prog.c", labC(t, "packet_counter"))
		r := in(t, dir, tmp, "run", "packet_counter", "--src", "prog.c", "--instance", inst)
		if r.code != 0 || !strings.Contains(r.stdout, "0 failed") {
			t.Errorf("run --src: %s", r)
		}
	})
}

// TestUpFromBadSource: what cannot be built, or was built without -g or at
// -O0, is refused with the fix, and nothing of the lab is left.
func TestUpFromBadSource(t *testing.T) {
	testutils.RequirePrivileged(t)
	testutils.RequireTool(t, "clang")
	tmp := []string{"TMPDIR=" + t.TempDir()}
	prog := labC(t, "packet_counter")

	t.Run("compile error", func(t *testing.T) {
		inst := testutils.Instance(t)
		dir := workspace(t, "bad.c", []byte(syntaxError))
		wantError(t, in(t, dir, tmp, "up", "packet_counter", "--src", "bad.c", "--instance", inst),
			filepath.Join(dir, "bad.c")+":4:17: error: expected ';'", "clang failed")
		if left := listDir(t, dir); !slices.Equal(left, []string{"bad.c", "include"}) {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("src and obj", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_counter", "--src", "prog.c", "--obj", "prog.o"),
			"--src builds the object that --obj names: give one of them")
	})
	t.Run("src missing", func(t *testing.T) {
		inst := testutils.Instance(t)
		wantError(t, xdplab(t, inst, "up", "packet_counter", "--src", "/nonexistent/prog.c"), "compile /nonexistent/prog.c: no such file or directory")
	})
	dir := workspace(t, "prog.c", prog)
	ccArgs := []string{"-target", "bpf", "-I", filepath.Join(dir, "include"), "-I" + build.ArchInclude(), "-c", filepath.Join(dir, "prog.c"), "-o"}
	for _, c := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"nog.o", []string{"-O2"}, "was built without -g (no BTF"},
		{"O0.o", []string{"-O0", "-g"}, "was built at -O0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := testutils.Instance(t)
			obj := filepath.Join(dir, c.name)
			args := append(append(c.flags, ccArgs...), obj)
			if b, err := exec.Command("clang", args...).CombinedOutput(); err != nil {
				t.Fatalf("clang %v: %v\n%s", args, err, b)
			}
			r := xdplab(t, inst, "up", "packet_counter", "--obj", obj)
			wantError(t, r, c.want, "rebuild it with `xdplab build", "clang -O2 -g -target bpf")
			for _, bad := range []string{"missing BTF", "invalid argument"} {
				if strings.Contains(r.stderr, bad) {
					t.Errorf("the error says %q:\n%s", bad, r)
				}
			}
		})
	}
}
