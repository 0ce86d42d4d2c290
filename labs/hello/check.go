package hello

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/tracing"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// What the check does, from a thread of its own named checkComm.
const (
	clones    = 3
	checkComm = "hello-check"
	// message is what the introduction's program prints.
	message = "Hello, eBPF world!"
	// printkEvent is the event bpf_trace_printk writes.
	printkEvent = "bpf_trace/bpf_trace_printk"
)

// A call is one system call the check makes, under a label that marks it
// in the check's trace.
type call struct {
	label string
	do    func() error
}

// cloneCall calls clone() with flags the kernel refuses (CLONE_NEWNS with
// CLONE_FS, CLONE_SIGHAND without CLONE_VM) before it creates anything:
// the tracepoint at the system call's entry fires, and no process is
// made. A Go process must never fork behind the runtime's back.
var cloneCall = call{"clone", func() error {
	_, _, e := unix.RawSyscall6(unix.SYS_CLONE, unix.CLONE_NEWNS|unix.CLONE_FS|unix.CLONE_SIGHAND, 0, 0, 0, 0, 0)
	if e != unix.EINVAL {
		return fmt.Errorf("clone() with refused flags returned %v, want EINVAL", e)
	}
	return nil
}}

// otherCalls are system calls that are not clone(); clone3() is the one
// a program on the wrong tracepoint of the family would print for.
var otherCalls = []call{
	{"getppid", func() error { unix.Getppid(); return nil }},
	{"uname", func() error { var u unix.Utsname; return unix.Uname(&u) }},
	{"clone3", func() error {
		// A zero size is refused (EINVAL) before anything is made.
		_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
		if e != unix.EINVAL {
			return fmt.Errorf("clone3() of size 0 returned %v, want EINVAL", e)
		}
		return nil
	}},
	{"sched_yield", func() error { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0); return nil }},
}

// markPrefix starts the check's marks in its trace buffer.
const markPrefix = "xdplab hello check: "

// traced is what the lab's program printed for the check's thread, by the
// label of the call it happened in.
type traced struct {
	thread grade.Thread
	lines  map[string][]tracing.Entry
	// foreign counts the lines other programs printed for the thread:
	// other learners' hello programs see the check's calls too.
	foreign int
}

// own is the lines printed during the calls of that label.
func (t traced) own(label string) []tracing.Entry { return t.lines[label] }

// printedFor lists the labels of otherCalls that got lines, and how many.
func (t traced) printedFor() (labels []string, n int) {
	for _, c := range otherCalls {
		if k := len(t.lines[c.label]); k > 0 {
			labels = append(labels, fmt.Sprintf("%s() %d", c.label, k))
			n += k
		}
	}
	return labels, n
}

// trace makes the check's calls from a thread of its own, recorded in a
// trace buffer of the check's own that follows only that thread, and
// returns what the program prog printed. Each line's recorded stack says
// which program printed it: the buffer also holds the lines of every other
// hello program on the machine, which run for the check's calls as well.
// The buffer is read through its trace file, which nobody else reads or
// clears; the machine's trace_pipe would hand each line to one reader only.
func trace(env *labs.Env, prog *ebpf.Program) (traced, error) {
	images, err := tracing.Images(prog)
	if err != nil {
		return traced{}, labs.Errorf(labs.ErrEnvironment, "tell the lab's program's lines from others': %w", err)
	}
	cpus, err := grade.CPUs()
	if err != nil {
		return traced{}, labs.Errorf(labs.ErrEnvironment, "%w", err)
	}
	var out traced
	err = grade.OnThread(checkComm, func(th grade.Thread) error {
		out.thread = th
		// One CPU: its ring holds the marks and the lines in the order they
		// happened.
		if err := grade.RunOn(cpus[0]); err != nil {
			return err
		}
		buf, err := tracing.NewBuffer(tracing.Prefix(env.Instance, labName)+fmt.Sprintf("check-%d", th.TID),
			tracing.BufferOptions{Events: []string{printkEvent}, PIDs: []int{th.TID}, Stacks: true})
		if err != nil {
			return err
		}
		defer buf.Close()
		if err := buf.Start(); err != nil {
			return err
		}
		calls := slices.Repeat([]call{cloneCall}, clones)
		calls = append(calls, otherCalls...)
		for _, c := range calls {
			if err := buf.Mark(markPrefix + c.label); err != nil {
				return err
			}
			if err := c.do(); err != nil {
				return err
			}
		}
		if err := buf.Mark(markPrefix + "end"); err != nil {
			return err
		}
		if err := buf.Stop(); err != nil {
			return err
		}
		entries, err := buf.Read()
		if err != nil {
			return err
		}
		out.lines = map[string][]tracing.Entry{}
		label := ""
		for _, e := range entries {
			switch {
			case e.Event == tracing.MarkEvent && strings.HasPrefix(e.Text, markPrefix):
				label = strings.TrimSpace(strings.TrimPrefix(e.Text, markPrefix))
			case e.Event != "bpf_trace_printk" || e.PID != th.TID:
			case e.RanIn(images):
				out.lines[label] = append(out.lines[label], e)
			default:
				out.foreign++
			}
		}
		return nil
	})
	if err != nil {
		return out, labs.Errorf(labs.ErrEnvironment, "trace the check's clone() calls: %w", err)
	}
	return out, nil
}

// Check makes clone() calls and other system calls from a thread of its
// own and grades what the lab's program did for each: the lines it
// printed, or (count step) what it counted for the thread.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	if env.Options.Step == stepCount {
		return checkCount(env)
	}
	prog, err := grade.LinkedProgram(env, linkPin)
	if err != nil {
		return nil, err
	}
	defer prog.Close()
	t, err := trace(env, prog)
	if err != nil {
		return nil, err
	}
	lines := t.own("clone")
	results := []labs.Result{
		labs.Assert(fmt.Sprintf("each of the check's %d clone() calls prints one line", clones),
			len(lines) == clones, plural(clones, "line"), plural(len(lines), "line"), countHint(t, len(lines), env.Options.Step)),
	}
	if env.Options.Step == stepWhoami {
		results = append(results, whoamiResults(t, lines)...)
	} else {
		results = append(results, messageResult(lines))
	}
	labels, n := t.printedFor()
	observed := "0 lines"
	if n > 0 {
		observed = strings.Join(labels, ", ")
	}
	results = append(results, labs.Assert("no line for other system calls ("+callNames()+")",
		n == 0, "0 lines", observed, otherHint(env.Options.Step)))
	return results, nil
}

// messageResult grades the base exercise's text.
func messageResult(lines []tracing.Entry) labs.Result {
	const name = "each line says \"" + message + "\" and ends it with a newline"
	want := message + "\n"
	for _, l := range lines {
		if l.Text != want {
			return labs.Assert(name, false, strconv.Quote(want), strconv.Quote(l.Text), textHint(l.Text, want))
		}
	}
	if len(lines) == 0 {
		return labs.Assert(name, false, strconv.Quote(want), "no line", noLine+", and print one with bpf_trace_printk"+baseTodo("", 2))
	}
	return labs.Assert(name, true, strconv.Quote(want), strconv.Quote(want), "")
}

// baseTodo names the base exercise's TODO n, which the hint's fix is, in
// the base exercise; a step's starter has the line written already.
func baseTodo(step string, n int) string {
	if step != "" {
		return ""
	}
	return fmt.Sprintf(" (TODO %d in hello.c)", n)
}

// noLine is the hint of an expectation about the lines when there are
// none.
const noLine = "no line to read: see the clone() expectation"

// textHint says how a printed text differs from the one wanted.
func textHint(got, want string) string {
	switch {
	case got+"\n" == want:
		return "the message has no newline at its end: write \"" + message + "\\n\" (trace_pipe readers, like the introduction's front end, read line by line)"
	case strings.HasPrefix(want, got):
		return fmt.Sprintf("the text is cut short after %d bytes: pass sizeof(msg), the whole array with its NUL, as bpf_trace_printk's size", len(got))
	}
	return fmt.Sprintf("print exactly %q: char msg[] = %q; bpf_trace_printk(msg, sizeof(msg)) (TODO 2 in hello.c)", want, want)
}

// whoamiLine is the whoami step's text.
var whoamiLine = regexp.MustCompile(`^` + regexp.QuoteMeta(message) + ` pid (-?\d+) comm (.*)\n$`)

// whoamiResults grade the whoami step's lines: the thread's id and name.
func whoamiResults(t traced, lines []tracing.Entry) []labs.Result {
	th := t.thread
	wantText := fmt.Sprintf("%s pid %d comm %s\n", message, th.TID, th.Comm)
	pidName := "each line names the calling thread's id (pid " + strconv.Itoa(th.TID) + ")"
	commName := "each line names the calling thread (comm " + th.Comm + ")"
	if len(lines) == 0 {
		return []labs.Result{
			labs.Assert(pidName, false, strconv.Itoa(th.TID), "no line", noLine),
			labs.Assert(commName, false, th.Comm, "no line", noLine),
		}
	}
	for _, l := range lines {
		m := whoamiLine.FindStringSubmatch(l.Text)
		if m == nil {
			hint := textHint(l.Text, wantText)
			if !strings.HasPrefix(l.Text, message) || !strings.Contains(l.Text, " pid ") || !strings.Contains(l.Text, " comm ") {
				hint = fmt.Sprintf("print %q: char msg[] = \"%s pid %%d comm %%s\\n\"; bpf_trace_printk(msg, sizeof(msg), pid, comm)", wantText, message)
			}
			return []labs.Result{labs.Assert("each line says \""+message+" pid <id> comm <name>\"", false, strconv.Quote(wantText), strconv.Quote(l.Text), hint)}
		}
		if pid, _ := strconv.ParseInt(m[1], 10, 64); pid != int64(th.TID) {
			return []labs.Result{labs.Assert(pidName, false, strconv.Itoa(th.TID), m[1], pidHint(pid, th)), commResult(commName, m[2], th)}
		}
		if m[2] != th.Comm {
			return []labs.Result{labs.Assert(pidName, true, strconv.Itoa(th.TID), m[1], ""), commResult(commName, m[2], th)}
		}
	}
	return []labs.Result{
		labs.Assert(pidName, true, strconv.Itoa(th.TID), strconv.Itoa(th.TID), ""),
		labs.Assert(commName, true, th.Comm, th.Comm, ""),
	}
}

func commResult(name, got string, th grade.Thread) labs.Result {
	var hint string
	switch {
	case got == th.Comm:
	case got == "":
		hint = "the name is empty: fill comm with bpf_get_current_comm(comm, sizeof(comm)) (TODO 2 in hello.c)"
	case strings.HasPrefix(th.Comm, got):
		hint = fmt.Sprintf("the name is cut short after %d bytes: give bpf_get_current_comm the whole 16-byte array, sizeof(comm)", len(got))
	default:
		hint = "print the calling thread's name, from bpf_get_current_comm(comm, sizeof(comm)) (TODO 2 in hello.c)"
	}
	return labs.Assert(name, got == th.Comm, th.Comm, strconv.Quote(got), hint)
}

// pidHint says what a wrong id is.
func pidHint(got int64, th grade.Thread) string {
	switch {
	case got == 0:
		return "the id is 0: set pid from bpf_get_current_pid_tgid() (TODO 1 in hello.c)"
	case got == int64(th.PID):
		return fmt.Sprintf("%d is the process's id (the tgid, the upper 32 bits of bpf_get_current_pid_tgid()); the thread's id is the lower 32 bits (TODO 1 in hello.c)", got)
	case got == int64(th.PID)<<32|int64(th.TID):
		return "that is the whole 64-bit value of bpf_get_current_pid_tgid(): keep its lower 32 bits, the thread's id (TODO 1 in hello.c)"
	}
	return "print the lower 32 bits of bpf_get_current_pid_tgid(), the id of the thread that called clone() (TODO 1 in hello.c)"
}

// countHint says why the clone() calls did not print one line each.
func countHint(t traced, got int, step string) string {
	labels, others := t.printedFor()
	switch {
	case got == clones:
		return ""
	case got == 0 && others > 0:
		return fmt.Sprintf("your program printed for other system calls (%s) but not for clone(): attach it to the tracepoint %s, SEC(\"tracepoint/%s\")%s",
			strings.Join(labels, ", "), tracepoint, tracepoint, baseTodo(step, 1))
	case got == 0:
		return "your program printed nothing: attach it to SEC(\"tracepoint/" + tracepoint + "\") " + baseTodo(step, 1) + " and call bpf_trace_printk(msg, sizeof(msg))" + baseTodo(step, 2) + "; " +
			"the size counts msg's terminating NUL, and a size without it makes the helper fail and print nothing"
	case got%clones == 0:
		return fmt.Sprintf("%d lines for each clone() call: call bpf_trace_printk once per run of the program%s", got/clones, baseTodo(step, 2))
	}
	return fmt.Sprintf("%d lines for %d clone() calls: print one line each time the program runs%s", got, clones, baseTodo(step, 2))
}

// otherHint is the hint of lines printed for the other system calls.
func otherHint(step string) string {
	return "your program runs for more than clone(): attach it to the tracepoint " + tracepoint +
		" only (SEC(\"tracepoint/" + tracepoint + "\"))" + baseTodo(step, 1) + ", not to raw_tracepoint/sys_enter, which every system call passes, nor sys_enter_clone3"
}

func callNames() string {
	var names []string
	for _, c := range otherCalls {
		names = append(names, c.label+"()")
	}
	return strings.Join(names, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
