package xdpcap_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/xdpcap"
)

// TestRun goes through the same path as `xdplab run xdpcap`.
func TestRun(t *testing.T) {
	for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
		t.Run(string(mode), func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
			reports, err := r.Run(context.Background(), []string{"xdpcap"}, labs.Options{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			testutils.RequirePass(t, reports)
		})
	}
}

// compile returns a learner's object from testdata: built with clang as a
// learner would by `make generate`, and committed so tests need no clang.
func compile(t *testing.T, name string) string {
	t.Helper()
	obj, err := filepath.Abs(filepath.Join("testdata", name+".o"))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// TestLearnerObjects loads a learner's own programs with --obj: the hook
// declared as xdpcap's README says (BTF types, any program name) and the
// legacy way (struct bpf_map_def with XDPCAP_HOOK()); both must be graded
// like the lab's own.
func TestLearnerObjects(t *testing.T) {
	for _, name := range []string{"hook_btf", "hook_legacy"} {
		t.Run(name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			obj := compile(t, name)
			r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
			reports, err := r.Run(context.Background(), []string{"xdpcap"}, labs.Options{Obj: obj})
			if err != nil {
				t.Fatal(err)
			}
			testutils.RequirePass(t, reports)
		})
	}
}

// TestBadObjects: objects the lab cannot use are refused before anything
// is created, saying what is wrong.
func TestBadObjects(t *testing.T) {
	cases := []struct{ name, want string }{
		{"wrong_hook", `map "xdpcap_hook" is of type Array, the lab expects ProgramArray`},
		{"no_xdp", `no XDP program (have: sock_prog)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			obj := compile(t, c.name)
			r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
			err := r.Up(context.Background(), "xdpcap", labs.Options{Obj: obj})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("up --obj %s: got %v, want an error containing %q", c.name, err, c.want)
			}
		})
	}
}

func TestGuideEmbedded(t *testing.T) {
	g := xdpcap.New().Guide()
	for _, want := range []string{"# Lab 5: xdpcap", "xdpcap_exit", "next_prog", "--entry", "--obj"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide lacks %q", want)
		}
	}
}
