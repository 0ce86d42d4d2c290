package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// libcParts are the only shared objects an xdplab binary may name: glibc's
// own, present on every glibc system. purego's dlopen needs them; libpcap is
// opened through it at run time, never named at link time.
var libcParts = []string{"libc.so.6", "libdl.so.2", "libpthread.so.0"}

// TestBuildWithoutCgo: `CGO_ENABLED=0 go build ./cmd/xdplab` builds, for this
// machine and for the other release architecture, with no C compiler to
// call; the binary names no shared library beyond libc (no libpcap, so no
// -dev package or header at build time), and the native one runs.
func TestBuildWithoutCgo(t *testing.T) {
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, arch := range []string{runtime.GOARCH, other} {
		if arch == "" {
			continue
		}
		t.Run(arch, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "xdplab")
			cmd := exec.Command("go", "build", "-o", out, ".")
			// CC names no compiler: a build that still wanted cgo would fail.
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "CC=/nonexistent/cc")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("CGO_ENABLED=0 GOARCH=%s go build ./cmd/xdplab: %v\n%s", arch, err, b)
			}
			f, err := elf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != machines[arch] {
				t.Errorf("machine %v, want %v", f.Machine, machines[arch])
			}
			libs, err := f.ImportedLibraries()
			if err != nil {
				t.Fatal(err)
			}
			for _, lib := range libs {
				if !slices.Contains(libcParts, lib) {
					t.Errorf("the binary needs %s; only libc's parts %v are allowed", lib, libcParts)
				}
			}
			syms, err := f.ImportedSymbols()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range syms {
				if strings.HasPrefix(s.Name, "pcap_") || strings.HasPrefix(s.Name, "bpf_") {
					t.Errorf("the binary links %s (from %s) instead of loading it at run time", s.Name, s.Library)
				}
			}
			if arch == runtime.GOARCH {
				r := xdplabCmd(t, exec.Command(out, "version"))
				if r.code != 0 || !strings.HasPrefix(r.stdout, "xdplab ") {
					t.Errorf("the CGO_ENABLED=0 binary does not run: %s", r)
				}
			}
		})
	}
}

// TestNoLibpcapWithoutFilter: a command that compiles no filter never loads
// libpcap, so it runs on a machine without it. The dynamic loader's own
// trace (LD_DEBUG=files, also for dlopen) is the witness.
func TestNoLibpcapWithoutFilter(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"list"}, {"guide", "xdpcap"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "LD_DEBUG=files")
		r := xdplabCmd(t, cmd)
		if r.code != 0 {
			t.Fatalf("xdplab %v: %s", args, r)
		}
		if !strings.Contains(r.stderr, "libc.so.6") {
			t.Fatalf("xdplab %v: LD_DEBUG=files traced no library load, so it witnesses nothing:\n%s", args, r.stderr)
		}
		if strings.Contains(r.stderr, "libpcap") {
			t.Errorf("xdplab %v loads libpcap without compiling a filter:\n%s", args, r.stderr)
		}
	}
}
