package hello_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/tracing"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/labtest"
)

// TestRun goes through `xdplab run hello`: in no mode, since it has no XDP.
func TestRun(t *testing.T) { labtest.PassesInEveryMode(t, "hello") }

// TestExercises: every step's starter compiles, loads and fails with hints
// naming its TODOs; every solution passes.
func TestExercises(t *testing.T) { labtest.ExercisesGraded(t, "hello") }

// TestMistakes: every learner mistake of the suite is caught by the
// expectation its spec names, with a hint that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "hello", 8) }

// TestCorrectPrograms: programs in other styles (bpf_printk, the "tp/"
// prefix, the old helper pointer, CO-RE reads of task_struct, the legacy
// maps section, an LRU hash) pass.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "hello", 2) }

// TestBadObj: objects that are not a tracing trace_clone are refused
// before anything is created.
func TestBadObj(t *testing.T) {
	testutils.RequirePrivileged(t)
	labtest.RefusesBadObjects(t, "hello", []labtest.BadObj{
		{Name: "not an ELF", Obj: labtest.NotELF(t), Want: []string{"is not an ELF file"}},
		{Name: "wrong names", Obj: labtest.WrongNames(), Want: []string{`no program named "trace_clone"`}},
		{Name: "a socket filter", Obj: labtest.Obj("sockex1", "sockex1_legacy.o"), Want: []string{`no program named "trace_clone"`}},
	})
}

// TestKprobeObject: the introduction's kprobe program is graded where the
// kernel has kprobes; where it has none, up and run refuse it, name the
// tracepoint variant, and build nothing.
func TestKprobeObject(t *testing.T) {
	testutils.RequirePrivileged(t)
	obj := labtest.Obj("hello", "hello_kprobe.o")
	if ok, _ := tracing.Kprobes(); ok {
		labtest.Passes(t, "hello", labs.Options{Obj: obj})
		return
	}
	labtest.RefusesBadObjects(t, "hello", []labtest.BadObj{{
		Name: "kprobe here", Obj: obj, NotBadObject: true,
		Want: []string{`trace_clone is a kprobe program (SEC("kprobe/__x64_sys_clone"))`, "this kernel has no kprobes",
			`write it for the tracepoint instead: SEC("tracepoint/syscalls/sys_enter_clone")`},
	}})
}

// TestConcurrentInstances: 5 instances check hello at the same moment.
// Every one of their programs prints for every check's clone() calls, yet
// each check counts exactly its own 3 lines and passes. Run it with
// -count=10 to see that it holds every time.
func TestConcurrentInstances(t *testing.T) {
	labtest.ChecksAtOnce(t, "hello", 5, "", "whoami", "count")
}

// TestDownDetaches: up pins the tracing link in the lab's pin directory;
// down removes it and returns only once the kernel has freed the link, so
// the program runs nowhere any more.
func TestDownDetaches(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, "hello", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	pin := r.PinDir("hello") + "/link_trace_clone"
	l, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		t.Fatalf("up left no pinned link: %v", err)
	}
	info, err := l.Info()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Down(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if l, err := link.NewFromID(info.ID); !errors.Is(err, os.ErrNotExist) {
		if err == nil {
			l.Close()
		}
		t.Errorf("link %d of the lab's program: %v after down, want it gone", info.ID, err)
	}
	if left := tracing.Buffers(tracing.Prefix(r.Instance, "")); len(left) > 0 {
		t.Errorf("trace buffers left: %v", left)
	}
}

// TestStatus: status shows the program up left on the tracepoint, which
// no interface of the lab's shows, and that it runs.
func TestStatus(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, "hello", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Down(ctx, "hello") })
	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Labs) != 1 || len(st.Labs[0].Tracing) != 1 {
		t.Fatalf("status: %+v, want hello with one tracing program", st)
	}
	if ts := st.Labs[0].Tracing[0]; ts.Hook != labs.HookTracepoint || ts.Target != "sys_enter_clone" || ts.Program != "trace_clone" || !ts.Running || ts.ProgID == 0 {
		t.Errorf("tracing status %+v, want trace_clone running on tracepoint sys_enter_clone", ts)
	}
}

// TestBareRefused: a tracing lab cannot be up bare (its program runs on
// no node where check could find the learner's), so up says so and builds
// nothing.
func TestBareRefused(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, lab := range []string{"hello", "tcp_connect"} {
		r := labtest.Runner(t)
		err := r.Up(context.Background(), lab, labs.Options{Bare: true})
		want := lab + " cannot be up bare: its program runs on a tracing hook of the whole machine"
		if !errors.Is(err, labs.ErrUsage) || err == nil || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), "xdplab up "+lab+" --obj FILE.o --instance "+r.Instance) {
			t.Errorf("up %s --bare: %v, want a usage error saying %q and the command to load an object", lab, err, want)
		}
	}
}

// TestLinkPinRemoved: a lab whose link pin was removed since up no longer
// runs its program; check says so and how to rebuild the lab, and down
// still cleans up.
func TestLinkPinRemoved(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, "hello", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := r.Down(ctx, "hello"); err != nil {
			t.Error(err)
		}
	})
	pin := r.PinDir("hello") + "/link_trace_clone"
	if err := os.Remove(pin); err != nil {
		t.Fatal(err)
	}
	reports, err := r.Check(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	rep := reports[0]
	for _, want := range []string{"tracepoint sys_enter_clone: trace_clone is no longer attached (its link pin " + pin + " is gone)",
		"xdplab down hello --instance " + r.Instance, "xdplab up hello --instance " + r.Instance} {
		if rep.Verdict != labs.VerdictError || !strings.Contains(rep.Error, want) {
			t.Errorf("verdict %s, error %q; want an error saying %q", rep.Verdict, rep.Error, want)
		}
	}
}
