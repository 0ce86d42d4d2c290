package tcpconnect_test

import (
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/tracing"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/labtest"
)

// TestRun goes through `xdplab run tcp_connect`: in no mode, since it has
// no XDP.
func TestRun(t *testing.T) { labtest.PassesInEveryMode(t, "tcp_connect") }

// TestExercises: every step's starter compiles, loads and fails with hints
// naming its TODOs; every solution passes.
func TestExercises(t *testing.T) { labtest.ExercisesGraded(t, "tcp_connect") }

// TestMistakes: every learner mistake of the suite is caught by the
// expectation its spec names, with a hint that names it.
func TestMistakes(t *testing.T) { labtest.MistakesCaught(t, "tcp_connect", 8) }

// TestCorrectPrograms: programs in other styles (the legacy maps section,
// the process's id as pid, tp_btf with CO-RE reads of the socket, an LRU
// socklist, the start time in a map of its own) pass.
func TestCorrectPrograms(t *testing.T) { labtest.CorrectProgramsPass(t, "tcp_connect", 2) }

// TestBadObj: objects without a tracing tcp_connect and a perf event
// array events are refused before anything is created.
func TestBadObj(t *testing.T) {
	testutils.RequirePrivileged(t)
	labtest.RefusesBadObjects(t, "tcp_connect", []labtest.BadObj{
		{Name: "not an ELF", Obj: labtest.NotELF(t), Want: []string{"is not an ELF file"}},
		{Name: "wrong names", Obj: labtest.WrongNames(), Want: []string{`no map named "events"`}},
		{Name: "hello's program", Obj: labtest.Obj("hello", "correct/base/printk_macro.o"), Want: []string{`no map named "events"`}},
		{Name: "an XDP program", Obj: labtest.Obj("xdp_dump", "../bpf_bpfel.o"), Want: []string{`no map named "events"`}},
	})
}

// TestKprobeObject: the introduction's kprobe and kretprobe pair is
// graded where the kernel has kprobes; where it has none, up and run
// refuse it, name the tracepoint variant, and build nothing.
func TestKprobeObject(t *testing.T) {
	testutils.RequirePrivileged(t)
	obj := labtest.Obj("tcp_connect", "tcp_connect_kprobe.o")
	if ok, _ := tracing.Kprobes(); ok {
		labtest.Passes(t, "tcp_connect", labs.Options{Obj: obj})
		return
	}
	labtest.RefusesBadObjects(t, "tcp_connect", []labtest.BadObj{{
		Name: "kprobe here", Obj: obj, NotBadObject: true,
		Want: []string{`tcp_connect is a kprobe program (SEC("kprobe/tcp_v4_connect"))`, "this kernel has no kprobes",
			`write it for the tracepoint instead: SEC("tracepoint/sock/inet_sock_set_state")`},
	}})
}

// TestConcurrentInstances: 5 instances check tcp_connect at the same
// moment, with the same addresses. Every program reports every check's
// connects, yet each check finds exactly its own. Run it with -count=10
// to see that it holds every time.
func TestConcurrentInstances(t *testing.T) {
	labtest.ChecksAtOnce(t, "tcp_connect", 5, "", "outcome", "latency")
}
