package tracing

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Entry is one event of a trace as tracefs prints it: the task it happened
// in, the CPU, the event's name and its text.
type Entry struct {
	// Task is the task's name (comm), PID its id: a thread's, which is what
	// trace's TASK-PID column shows.
	Task string
	PID  int
	CPU  int
	// Event is the event's name ("bpf_trace_printk").
	Event string
	// Text is what the event printed, its own newlines kept; the one that
	// ends every entry is not part of it. A bpf_trace_printk of
	// "Hello\n" has the text "Hello\n".
	Text string
	// Lines are the entry as the trace printed it, without its stack.
	Lines []string
	// Stack holds the return addresses of the kernel stack recorded with
	// the event (the stacktrace and sym-addr options), innermost first.
	Stack []uint64
}

// header is an entry's first line: "  comm-1234  [001] d..21  12.34: event: text".
// The flags column is there with the irq-info option (the default); the
// TGID column with record-tgid.
var header = regexp.MustCompile(`^\s*(.*)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:\S{4,5}\s+)?(\d+\.\d+): (.*)$`)

// stackLine is a line of a recorded stack: " => symbol <ffffffff81000000>".
var stackLine = regexp.MustCompile(`^ => .*<([0-9a-f]+)>$`)

// stackEvent is the event name of a recorded stack.
const stackEvent = "<stack trace>"

// Parser turns a trace's text into entries, as it comes: a stack recorded
// with an event follows it on the same CPU, maybe after entries of other
// CPUs, and is attached to it.
type Parser struct {
	cur     *Entry      // the entry whose lines are being read
	pending map[int]int // per CPU, the index in out of its last event, until its stack comes
	out     []Entry
}

// Feed reads one line of a trace (without its newline).
func (p *Parser) Feed(line string) {
	if strings.HasPrefix(line, "#") && p.cur == nil && len(p.out) == 0 {
		return // the file's heading
	}
	if m := header.FindStringSubmatch(line); m != nil {
		p.finish()
		pid, _ := strconv.Atoi(m[2])
		cpu, _ := strconv.Atoi(m[3])
		e := &Entry{Task: strings.TrimSpace(m[1]), PID: pid, CPU: cpu, Lines: []string{line}}
		e.Event, e.Text, _ = strings.Cut(m[5], ": ")
		// The sym-addr option follows some events' names with the address
		// of their caller: "tracing_mark_write <ffffffff814aa7c1>".
		e.Event, _, _ = strings.Cut(e.Event, " ")
		if m[5] == stackEvent {
			e.Event, e.Text = stackEvent, ""
		}
		p.cur = e
		return
	}
	if p.cur == nil {
		return // a trace cut in the middle of an entry
	}
	if m := stackLine.FindStringSubmatch(line); m != nil && p.cur.Event == stackEvent {
		addr, _ := strconv.ParseUint(m[1], 16, 64)
		p.cur.Stack = append(p.cur.Stack, addr)
		return
	}
	p.cur.Text += "\n" + line
	p.cur.Lines = append(p.cur.Lines, line)
}

// finish files the entry being read: a stack goes to the last event of its
// CPU and task, an event waits for its stack.
func (p *Parser) finish() {
	e := p.cur
	p.cur = nil
	if e == nil {
		return
	}
	if p.pending == nil {
		p.pending = map[int]int{}
	}
	if e.Event == stackEvent {
		if i, ok := p.pending[e.CPU]; ok && p.out[i].PID == e.PID {
			p.out[i].Stack = e.Stack
		}
		delete(p.pending, e.CPU)
		return
	}
	p.out = append(p.out, *e)
	p.pending[e.CPU] = len(p.out) - 1
}

// Take returns the entries read so far and forgets them. Those still
// waiting for a stack are held back unless all is set (the trace ended):
// with stacks recorded, an event without one is incomplete.
func (p *Parser) Take(all bool) []Entry {
	if all {
		p.finish()
	}
	n := len(p.out)
	if !all {
		for _, i := range p.pending {
			n = min(n, i)
		}
	}
	done := p.out[:n]
	p.out = append([]Entry(nil), p.out[n:]...)
	for cpu, i := range p.pending {
		if all {
			delete(p.pending, cpu)
		} else {
			p.pending[cpu] = i - n
		}
	}
	return done
}

// Parse reads a whole trace.
func Parse(r io.Reader) ([]Entry, error) {
	var p Parser
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.Feed(sc.Text())
	}
	return p.Take(true), sc.Err()
}
