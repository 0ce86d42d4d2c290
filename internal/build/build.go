// Package build compiles a learner's BPF C program with clang, with the flags
// and headers the labs' own programs are built with.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/bpf/include"
	"github.com/xdplab/xdplab/internal/filekind"
)

// Errors a build can end with. Both are the learner's environment or program,
// never xdplab's: the CLI exits 2.
var (
	// ErrNoCompiler: no clang on PATH. The message names the install command.
	ErrNoCompiler = errors.New("clang not found")
	// ErrCompile: clang ran and failed; its diagnostics went to
	// Options.Stderr as it printed them (or into the error without one).
	ErrCompile = errors.New("clang failed")
)

// Options tune a build; the zero value builds SRC.c into SRC.o next to it.
type Options struct {
	// Out is the object to write; default: the source with .o for .c.
	Out string
	// Include lists extra -I directories, searched before the workspace's.
	Include []string
	// Stderr receives clang's diagnostics verbatim. Nil keeps them for the
	// error, so that they are not lost.
	Stderr io.Writer
}

// Flags are what every build passes, the labs' own (gen.go) included: BTF
// and line info (-g) for the loader and the verifier log, optimisation
// (-O2) without which helper calls do not compile to what the kernel takes,
// and the instruction set every kernel the labs support runs (-mcpu=v3).
var Flags = []string{"-O2", "-g", "-target", "bpf", "-mcpu=v3"}

// multiarch names the Debian/Ubuntu multiarch directory of each Go
// architecture: the kernel's asm/ headers live there, not in /usr/include.
var multiarch = map[string]string{
	"amd64":   "x86_64-linux-gnu",
	"arm64":   "aarch64-linux-gnu",
	"386":     "i386-linux-gnu",
	"arm":     "arm-linux-gnueabihf",
	"riscv64": "riscv64-linux-gnu",
	"ppc64le": "powerpc64le-linux-gnu",
	"s390x":   "s390x-linux-gnu",
}

// ArchInclude is this machine's multiarch include directory, or "" for an
// architecture Debian has no name for.
func ArchInclude() string {
	if m, ok := multiarch[runtime.GOARCH]; ok {
		return "/usr/include/" + m
	}
	return ""
}

// CommandLine spells the clang command that builds src into out, for hints
// to a learner who builds by hand (it leaves out the headers' directory,
// which `xdplab build` adds).
func CommandLine(src, out string) string {
	args := append([]string{"clang"}, Flags...)
	if a := ArchInclude(); a != "" {
		args = append(args, "-I"+a)
	}
	return strings.Join(append(args, "-c", src, "-o", out), " ")
}

// DefaultOut is where a build of src goes without Options.Out.
func DefaultOut(src string) string {
	return strings.TrimSuffix(src, ".c") + ".o"
}

// Headers are every header a workspace needs, laid out as under its
// include/: xdplab/parse.h, xdplab/xdpcap.h and libbpf's bpf/*.h.
func Headers() fs.FS { return include.FS }

// Compile builds src into a BPF object and returns the object's path.
// The include path is the extra directories, the include/ directory next to
// src if there is one (a workspace from `xdplab init`), then xdplab's
// embedded headers, so that a C file anywhere finds "xdplab/parse.h" and
// <bpf/bpf_helpers.h>; kernel headers come from the system.
func Compile(ctx context.Context, src string, opts Options) (string, error) {
	out := opts.Out
	if out == "" {
		out = DefaultOut(src)
	}
	if err := checkPaths(src, out); err != nil {
		return "", err
	}
	clang, err := findClang()
	if err != nil {
		return "", err
	}
	args := append([]string(nil), Flags...)
	if a := ArchInclude(); a != "" {
		args = append(args, "-I"+a)
	}
	for _, d := range opts.Include {
		args = append(args, "-I"+d)
	}
	if ws := filepath.Join(filepath.Dir(src), "include"); isDir(ws) {
		args = append(args, "-I"+ws)
	}
	headers, cleanup, err := headerDir()
	if err != nil {
		return "", fmt.Errorf("compile %s: %w", src, err)
	}
	defer cleanup()
	args = append(args, "-I"+headers)
	if isTerminal(opts.Stderr) {
		args = append(args, "-fcolor-diagnostics") // as clang shows them on a terminal
	}
	// -x c: a source not named .c would otherwise go to the linker, which
	// -c skips, and clang would "succeed" without writing anything.
	args = append(args, "-x", "c", "-c", src, "-o", out)

	cmd := exec.CommandContext(ctx, clang, args...)
	// Interrupted, clang removes its temporary output itself; killed, it
	// would leave it next to the learner's files.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	var diag tail
	cmd.Stderr = &diag
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(opts.Stderr, &diag)
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			return "", fmt.Errorf("compile %s: run %s: %w", src, clang, errors.Join(err, ctx.Err()))
		}
		return "", compileError(src, diag.String(), opts.Stderr != nil)
	}
	return out, nil
}

// missingHeader finds the kernel header clang could not find: a system
// without linux-libc-dev, or without the multiarch directory's asm/.
var missingHeader = regexp.MustCompile(`fatal error: '((?:linux|asm|asm-generic)/[^']+)' file not found`)

// ansi matches the colour codes of -fcolor-diagnostics.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func compileError(src, diag string, shown bool) error {
	if m := missingHeader.FindStringSubmatch(ansi.ReplaceAllString(diag, "")); m != nil {
		return fmt.Errorf("compile %s: %w: the kernel headers are not installed (%s not found): install them with `sudo apt-get install linux-libc-dev`", src, ErrCompile, m[1])
	}
	if shown {
		return fmt.Errorf("compile %s: %w (its messages are above)", src, ErrCompile)
	}
	return fmt.Errorf("compile %s: %w:\n%s", src, ErrCompile, strings.TrimRight(diag, "\n"))
}

// checkPaths refuses a source that is not a regular file (a FIFO would
// block clang's read) and an output that would overwrite the source.
func checkPaths(src, out string) error {
	fi, err := os.Stat(src)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("compile %s: %w", src, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("compile %s: it is a %s, not a C file", src, filekind.Of(fi.Mode()))
	}
	if fo, err := os.Stat(out); err == nil && os.SameFile(fi, fo) || filepath.Clean(out) == filepath.Clean(src) {
		return fmt.Errorf("compile %s: the output %s is the source itself: name a .o file", src, out)
	}
	return nil
}

// findClang looks for clang on PATH, then for the highest clang-NN there
// (Debian's versioned packages install only those).
func findClang() (string, error) {
	if p, err := exec.LookPath("clang"); err == nil {
		return p, nil
	}
	best, bestVersion := "", -1
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "clang-[0-9]*"))
		for _, m := range matches {
			v, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), "clang-"))
			if err != nil || v <= bestVersion {
				continue
			}
			if _, err := exec.LookPath(m); err == nil {
				best, bestVersion = m, v
			}
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w (neither clang nor clang-NN is on PATH): install it with `sudo apt-get install clang`", ErrNoCompiler)
	}
	return best, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// tail keeps the last diagLimit bytes written: enough for every diagnostic
// a learner reads, bounded whatever clang prints.
type tail struct{ b bytes.Buffer }

const diagLimit = 1 << 20

func (t *tail) Write(p []byte) (int, error) {
	t.b.Write(p)
	if over := t.b.Len() - diagLimit; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tail) String() string { return t.b.String() }
