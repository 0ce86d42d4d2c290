package loader

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/build"
	"github.com/xdplab/xdplab/internal/testutils"
)

// compile builds a repository C file with the given clang flags, as a
// learner might have, into dir.
func compile(t *testing.T, dir, src, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name+".o")
	args := append(flags, "-target", "bpf", "-I../../bpf/include", "-I"+build.ArchInclude(), "-c", src, "-o", out)
	if b, err := exec.Command("clang", args...).CombinedOutput(); err != nil {
		t.Fatalf("clang %v: %v\n%s", args, err, b)
	}
	return out
}

// noHelpers is a program that calls no helper: at -O0 it has no indirect
// call, only the unoptimised shape.
const noHelpers = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass_big(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data > 64 ? XDP_PASS : XDP_DROP;
}
char _license[] SEC("license") = "GPL";
`

// TestRebuildWithO2g: an object built without -g, or at -O0, is refused
// with one message that says how to rebuild it, not with "missing BTF" or
// the kernel's "load btf: invalid argument"; what -O1/-O2 with -g builds,
// and a legacy-maps object without -g (it needs no BTF), pass.
func TestRebuildWithO2g(t *testing.T) {
	testutils.RequireTool(t, "clang")
	dir := t.TempDir()
	lab := "../../labs/packet_counter/packet_counter.c"
	legacy := "../../labs/packet_counter/testdata/legacy_packet_count.c"
	plain := filepath.Join(dir, "plain.c")
	if err := os.WriteFile(plain, []byte(noHelpers), 0o644); err != nil {
		t.Fatal(err)
	}
	// The rebuild hint names the C file beside the object when there is one.
	os.WriteFile(filepath.Join(dir, "nog.c"), nil, 0o644)
	for _, c := range []struct {
		obj  string
		want []string // nil: accepted
	}{
		{compile(t, dir, lab, "O0", "-O0", "-g"), []string{"was built at -O0", "it calls helpers through pointers", "rebuild it with `xdplab build FILE.c` or `clang -O2 -g -target bpf"}},
		{compile(t, dir, lab, "nog", "-O2"), []string{"was built without -g (no BTF", "`xdplab build " + filepath.Join(dir, "nog.c") + "`", "-O2 -g"}},
		{compile(t, dir, lab, "O1", "-O1", "-g"), nil},
		{compile(t, dir, lab, "O2", "-O2", "-g"), nil},
		{compile(t, dir, legacy, "legacy_nog", "-O2"), nil},
	} {
		_, err := SpecFromFile(c.obj, Want{})
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(c.obj), err)
			}
			continue
		}
		if !errors.Is(err, ErrBadObject) {
			t.Errorf("%s: %v, want ErrBadObject", filepath.Base(c.obj), err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nlacks %q", filepath.Base(c.obj), err, w)
			}
		}
		for _, bad := range []string{"missing BTF", "invalid argument"} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("%s: %v\nsays %q", filepath.Base(c.obj), err, bad)
			}
		}
	}
	// The helper-free -O0 object is refused exactly when the kernel would
	// refuse it (clang 14's BTF names no arguments at -O0; later ones may).
	obj := compile(t, dir, plain, "plain_O0", "-O0", "-g")
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	why := builtAtO0(spec)
	_, err = SpecFromFile(obj, Want{})
	if (why == "") != (err == nil) {
		t.Errorf("builtAtO0 says %q, SpecFromFile %v", why, err)
	}
	if os.Geteuid() == 0 {
		coll, lerr := ebpf.NewCollection(spec)
		if lerr == nil {
			coll.Close()
		}
		if (why == "") != (lerr == nil) {
			t.Errorf("builtAtO0 says %q, the kernel says %v: xdplab must refuse what the kernel refuses, no more", why, lerr)
		}
	}
}

// TestO0RefusedOnlyWhereTheKernelRefuses: the -O0 object with helper calls
// fails in the kernel too (so refusing it early costs nothing), and no
// object the repository ships, all built with -O2 -g, looks like -O0.
func TestO0RefusedOnlyWhereTheKernelRefuses(t *testing.T) {
	var objs []string
	filepath.WalkDir("../../labs", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".o") {
			objs = append(objs, p)
		}
		return nil
	})
	if len(objs) < 10 {
		t.Fatalf("found only %v", objs)
	}
	for _, o := range objs {
		spec, err := ebpf.LoadCollectionSpec(o)
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		if why := builtAtO0(spec); why != "" {
			t.Errorf("%s, built with -O2 -g, is taken for -O0: %s", o, why)
		}
	}
	testutils.RequireTool(t, "clang")
	testutils.RequirePrivileged(t)
	obj := compile(t, t.TempDir(), "../../labs/packet_counter/packet_counter.c", "O0", "-O0", "-g")
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	if coll, err := ebpf.NewCollection(spec); err == nil {
		coll.Close()
		t.Error("the kernel loads the -O0 object that xdplab refuses")
	}
}
