package build

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/testutils"
)

// labSource is a lab's own C, which includes "xdplab/parse.h" and libbpf's
// headers as a learner's program does.
const labSource = "../../labs/xdpcap/xdpcap.c"

// sourceDir puts the lab's C in a directory of its own as prog.c, with a
// workspace's include/ beside it when workspace is set.
func sourceDir(t *testing.T, workspace bool) (dir, src string) {
	t.Helper()
	dir = t.TempDir()
	b, err := os.ReadFile(labSource)
	if err != nil {
		t.Fatal(err)
	}
	src = filepath.Join(dir, "prog.c")
	if err := os.WriteFile(src, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if workspace {
		inc := filepath.Join(dir, "include")
		if err := os.Mkdir(inc, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeHeaders(inc); err != nil {
			t.Fatal(err)
		}
	}
	return dir, src
}

// isolate gives the test a TMPDIR of its own, so the header cache it makes
// (and anything left behind) is its own.
func isolate(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return tmp
}

// files lists every path under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestCompileWorkspace: a workspace's C builds into an object the loader
// reads (BTF, the lab's program and map), with the workspace's include/
// ahead of xdplab's own headers, and the same object every time.
func TestCompileWorkspace(t *testing.T) {
	testutils.RequireTool(t, "clang")
	isolate(t)
	dir, src := sourceDir(t, true)
	// A header only the workspace has proves its include/ is searched first.
	parse := filepath.Join(dir, "include", "xdplab", "parse.h")
	b, _ := os.ReadFile(parse)
	os.WriteFile(parse, append([]byte("#define FROM_WORKSPACE 1\n"), b...), 0o644)
	b, _ = os.ReadFile(src)
	os.WriteFile(src, append(b, "\n#ifndef FROM_WORKSPACE\n#error the workspace's include/ was not used\n#endif\n"...), 0o644)

	var diag bytes.Buffer
	obj, err := Compile(context.Background(), src, Options{Stderr: &diag})
	if err != nil {
		t.Fatalf("Compile: %v\n%s", err, diag.String())
	}
	if obj != filepath.Join(dir, "prog.o") {
		t.Errorf("object %s, want prog.o beside the source", obj)
	}
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_BPF || f.Section(".BTF") == nil {
		t.Errorf("object is for %v, BTF section %v: want a BPF object with BTF", f.Machine, f.Section(".BTF") != nil)
	}
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Programs["xdp_discard"] == nil || spec.Maps["xdpcap_hook"] == nil {
		t.Errorf("object lacks xdp_discard or xdpcap_hook: %v %v", spec.Programs, spec.Maps)
	}
	first, _ := os.ReadFile(obj)
	if _, err := Compile(context.Background(), src, Options{Out: filepath.Join(dir, "again.o")}); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir, "again.o"))
	if !bytes.Equal(first, second) {
		t.Error("two builds of the same source differ")
	}
}

// TestCompileAnywhere: a C file with no include/ beside it finds
// "xdplab/parse.h" and <bpf/bpf_helpers.h> in xdplab's embedded headers,
// and a source not named .c is still compiled as C.
func TestCompileAnywhere(t *testing.T) {
	testutils.RequireTool(t, "clang")
	isolate(t)
	dir, src := sourceDir(t, false)
	odd := filepath.Join(dir, "prog.bpf")
	os.Rename(src, odd)
	out := filepath.Join(dir, "out.o")
	if _, err := Compile(context.Background(), odd, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	if _, err := ebpf.LoadCollectionSpec(out); err != nil {
		t.Errorf("object of a source named .bpf: %v", err)
	}
}

// TestCompileError: clang's diagnostics reach Stderr as clang prints them
// (file:line: error), the error is ErrCompile, and no object is left.
func TestCompileError(t *testing.T) {
	testutils.RequireTool(t, "clang")
	isolate(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "bad.c")
	os.WriteFile(src, []byte("#include \"xdplab/parse.h\"\nSEC(\"xdp\") int f(struct xdp_md *ctx)\n{\n\treturn XDP_PASS\n}\n"), 0o644)
	var diag bytes.Buffer
	_, err := Compile(context.Background(), src, Options{Stderr: &diag})
	if !errors.Is(err, ErrCompile) || !strings.Contains(err.Error(), "messages are above") {
		t.Errorf("Compile = %v, want ErrCompile pointing at clang's messages", err)
	}
	if want := src + ":4:17: error: expected ';' after return statement"; !strings.Contains(diag.String(), want) {
		t.Errorf("clang's messages lack %q:\n%s", want, diag.String())
	}
	// Without a Stderr the messages are in the error.
	_, err = Compile(context.Background(), src, Options{})
	if !errors.Is(err, ErrCompile) || !strings.Contains(err.Error(), "bad.c:4:17: error: expected ';'") {
		t.Errorf("Compile without Stderr = %v, want clang's messages in it", err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"bad.c"}) {
		t.Errorf("left behind: %v", got)
	}
}

// TestCompileFindsClang: without clang on PATH the error names the
// package; a versioned clang-NN alone is found.
func TestCompileFindsClang(t *testing.T) {
	testutils.RequireTool(t, "clang")
	clang, _ := exec.LookPath("clang")
	real, err := filepath.EvalSymlinks(clang)
	if err != nil {
		t.Fatal(err)
	}
	isolate(t)
	dir, src := sourceDir(t, false)
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	_, err = Compile(context.Background(), src, Options{})
	if !errors.Is(err, ErrNoCompiler) || !strings.Contains(err.Error(), "clang not found") || !strings.Contains(err.Error(), "`sudo apt-get install clang`") {
		t.Errorf("Compile without clang = %v", err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"prog.c"}) {
		t.Errorf("left behind: %v", got)
	}
	for _, v := range []string{"clang-9", "clang-99", "clang-format-99"} {
		if err := os.Symlink(real, filepath.Join(empty, v)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := findClang(); err != nil || filepath.Base(got) != "clang-99" {
		t.Errorf("findClang with clang-9 and clang-99 = %s, %v; want clang-99", got, err)
	}
	if _, err := Compile(context.Background(), src, Options{}); err != nil {
		t.Errorf("Compile with clang-99 only: %v", err)
	}
}

// TestCompileWithoutKernelHeaders: a clang that finds no kernel headers
// (-nostdinc stands for a machine without linux-libc-dev) gets the package
// to install, after clang's own message.
func TestCompileWithoutKernelHeaders(t *testing.T) {
	testutils.RequireTool(t, "clang")
	clang, _ := exec.LookPath("clang")
	isolate(t)
	dir, src := sourceDir(t, true)
	bin := t.TempDir()
	wrapper := "#!/bin/sh\nexec " + clang + " -nostdinc \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "clang"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	var diag bytes.Buffer
	_, err := Compile(context.Background(), src, Options{Stderr: &diag})
	// The first kernel header the lab's C includes is the one clang misses.
	m := regexp.MustCompile(`fatal error: '(linux/\w+\.h)' file not found`).FindStringSubmatch(diag.String())
	if m == nil {
		t.Fatalf("clang's message is not shown:\n%s", diag.String())
	}
	if !errors.Is(err, ErrCompile) || !strings.Contains(err.Error(), m[1]+" not found") || !strings.Contains(err.Error(), "`sudo apt-get install linux-libc-dev`") {
		t.Errorf("Compile without kernel headers = %v", err)
	}
	if got := files(t, dir); slices.Contains(got, "prog.o") {
		t.Errorf("left behind: %v", got)
	}
}

// TestCompileRefusesPaths: a source that is missing or not a regular file
// (a FIFO would block clang), and an output that is the source itself, are
// refused before clang runs.
func TestCompileRefusesPaths(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.c")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "prog.c")
	os.WriteFile(src, []byte("int x;\n"), 0o644)
	for _, c := range []struct {
		src, out, want string
	}{
		{filepath.Join(dir, "missing.c"), "", "missing.c: no such file or directory"},
		{fifo, "", "it is a FIFO (named pipe), not a C file"},
		{dir, filepath.Join(dir, "x.o"), "it is a directory, not a C file"},
		{src, src, "the output " + src + " is the source itself"},
		{src, filepath.Join(dir, ".", "prog.c"), "is the source itself"},
	} {
		_, err := Compile(context.Background(), c.src, Options{Out: c.out})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%s, -o %s) = %v, want %q", c.src, c.out, err, c.want)
		}
	}
	if b, _ := os.ReadFile(src); string(b) != "int x;\n" {
		t.Errorf("the source was overwritten: %q", b)
	}
}

// TestHeaderCache: the embedded headers are written once to a private
// cache; a cache directory someone else could write into is not used, and
// the build's own copy is removed after it.
func TestHeaderCache(t *testing.T) {
	tmp := isolate(t)
	dir, cleanup, err := headerDir()
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if err := private(dir); err != nil || !strings.HasPrefix(dir, tmp) {
		t.Fatalf("header cache %s: %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bpf", "bpf_helpers.h")); err != nil {
		t.Errorf("cache lacks bpf/bpf_helpers.h: %v", err)
	}
	again, cleanup, _ := headerDir()
	cleanup()
	if again != dir {
		t.Errorf("second build uses %s, the first %s", again, dir)
	}

	// Someone else's (here: writable by all) base directory is left alone.
	other := t.TempDir()
	t.Setenv("TMPDIR", other)
	base := filepath.Join(other, filepath.Base(filepath.Dir(dir)))
	os.Mkdir(base, 0o755)
	os.Chmod(base, 0o777)
	got, cleanup, err := headerDir()
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(got, base) {
		t.Errorf("headers went to %s, a directory others can write into", got)
	}
	if _, err := os.Stat(filepath.Join(got, "xdplab", "parse.h")); err != nil {
		t.Errorf("the build's own copy lacks xdplab/parse.h: %v", err)
	}
	cleanup()
	if left := files(t, other); !slices.Equal(left, []string{filepath.Base(base)}) {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
	if left := files(t, base); len(left) > 0 {
		t.Errorf("wrote into the foreign directory: %v", left)
	}
}

// TestHeaders: what a workspace's include/ holds, with libbpf's license
// lines kept.
func TestHeaders(t *testing.T) {
	want := []string{"bpf/README", "bpf/bpf_core_read.h", "bpf/bpf_endian.h", "bpf/bpf_helper_defs.h", "bpf/bpf_helpers.h", "bpf/bpf_tracing.h", "xdplab/parse.h", "xdplab/xdpcap.h"}
	var got []string
	fs.WalkDir(Headers(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, p)
		}
		return nil
	})
	if !slices.Equal(got, want) {
		t.Errorf("Headers() = %v, want %v", got, want)
	}
	for _, h := range []string{"bpf/bpf_helpers.h", "bpf/bpf_endian.h", "bpf/bpf_tracing.h", "bpf/bpf_core_read.h"} {
		b, _ := fs.ReadFile(Headers(), h)
		if !bytes.HasPrefix(b, []byte("/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */")) {
			t.Errorf("%s lost libbpf's SPDX line", h)
		}
	}
}
