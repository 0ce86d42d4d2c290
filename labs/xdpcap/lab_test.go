package xdpcap_test

import (
	"context"
	"os"
	"os/exec"
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

// compile builds a testdata program with clang, as a learner would.
func compile(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		if os.Getenv("XDPLAB_REQUIRE_PRIVILEGED") == "1" {
			t.Fatal("clang is needed to build the learner objects (scripts/provision.sh installs it)")
		}
		t.Skip("clang not installed")
	}
	out := filepath.Join(t.TempDir(), name+".o")
	arch, _ := exec.Command("uname", "-m").Output()
	cmd := exec.Command("clang", "-O2", "-g", "-target", "bpf", "-mcpu=v3",
		"-I/usr/include/"+strings.TrimSpace(string(arch))+"-linux-gnu",
		"-c", filepath.Join("testdata", name+".c"), "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang %s: %v\n%s", name, err, b)
	}
	return out
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
		{"wrong_hook", `map "xdpcap_hook" is a Array, the lab expects a ProgramArray`},
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
	for _, want := range []string{"# xdpcap", "xdpcap_exit", "--entry", "--obj"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide lacks %q", want)
		}
	}
}
