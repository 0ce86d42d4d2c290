package tcpconnect

import (
	"fmt"
	"math/bits"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// grader compares the events the program sent with what the check did.
type grader struct {
	th       grade.Thread
	comm     string
	src, dst netip.Addr
	events   []Event
	lost     uint64
	step     string
	// longestUS bounds the latency step's delta_us: no connect took
	// longer to be established than its connect() call lasted.
	longestUS uint64
}

// want is the event a connect to port must produce.
func (g grader) want(port uint16) Event {
	return Event{Pid: uint32(g.th.TID), Comm: g.comm, Saddr: g.src, Daddr: g.dst, Dport: port, step: g.step}
}

// count counts the events that keep says.
func (g grader) count(keep func(Event) bool) int {
	n := 0
	for _, e := range g.events {
		if keep(e) {
			n++
		}
	}
	return n
}

// wanted says w in words, with the range the latency step's delta_us
// must be in.
func (g grader) wanted(w Event) string {
	if g.step == stepLatency {
		s := w.String()
		return s[:strings.LastIndex(s, " delta_us=")] + fmt.Sprintf(" delta_us=1..%d", g.longestUS)
	}
	return w.String()
}

// stepFieldsOK compares the step's own field.
func (g grader) stepFieldsOK(e, w Event) bool {
	switch g.step {
	case stepOutcome:
		return e.Established == w.Established
	case stepLatency:
		return e.DeltaUS >= 1 && e.DeltaUS <= g.longestUS
	}
	return true
}

// mine reports whether pid names the check's thread: its id, as the
// introduction takes it (the lower 32 bits of bpf_get_current_pid_tgid()),
// or its process's id, as tools such as tcpconnect report it.
func (g grader) mine(pid uint32) bool {
	return pid == uint32(g.th.TID) || pid == uint32(g.th.PID)
}

// matches reports whether e is w, every field (pid as mine says).
func (g grader) matches(e, w Event) bool {
	return g.mine(e.Pid) && e.Comm == w.Comm && e.Saddr == w.Saddr && e.Daddr == w.Daddr && e.Dport == w.Dport && g.stepFieldsOK(e, w)
}

// related reports whether e may be an event of the check's thread with
// fields gone wrong: its pid or its name is the thread's.
func (g grader) related(e Event) bool { return g.mine(e.Pid) || e.Comm == g.comm }

// reported grades the n connects whose event is w: exactly n events match
// it. others are the ports of the check's other connects, whose events
// are not mistaken for a wrong version of this one.
func (g grader) reported(name string, w Event, n int, others ...uint16) labs.Result {
	got := g.count(func(e Event) bool { return g.matches(e, w) })
	expected := fmt.Sprintf("%s %s", plural(n, "event"), g.wanted(w))
	if got == n {
		return labs.Assert(name, true, expected, fmt.Sprint(got), "")
	}
	var near []Event
	for _, e := range g.events {
		if g.related(e) && !g.matches(e, w) && !slices.Contains(others, e.Dport) {
			near = append(near, e)
		}
	}
	observed := fmt.Sprint(got)
	if got == 0 && len(near) > 0 {
		c := closest(near, w, g)
		observed = fmt.Sprintf("0; the closest event: %s", c)
	}
	return labs.Assert(name, false, expected, observed, g.hint(w, got, n, near))
}

// closest is the event that differs from w in the fewest fields.
func closest(events []Event, w Event, g grader) Event {
	best, fewest := events[0], 6
	for _, e := range events {
		if d := len(g.reasons(e, w)); d < fewest {
			best, fewest = e, d
		}
	}
	return best
}

// hint says, from the events, why n connects did not give n events w.
func (g grader) hint(w Event, got, n int, near []Event) string {
	switch {
	case got > n:
		return fmt.Sprintf("%d events for %d connects: report only the change from TCP_CLOSE to TCP_SYN_SENT (TODO b1,o2,l2); "+
			"a socket changes state again when it is established and when it closes", got, n)
	case got > 0:
		return fmt.Sprintf("%d of %d connects reported: send one event for each (TODO b4,o2,l2)", got, n)
	case len(near) > 0:
		return strings.Join(g.reasons(closest(near, w, g), w), "; ")
	case g.lost > 0:
		return fmt.Sprintf("the kernel lost %d events for want of room in the rings: run check again, or stop `xdplab watch tcp_connect`, which reads the same rings", g.lost)
	case len(g.events) == 0:
		return noEvents[g.step]
	case n == 1:
		return "the refused connect was not reported: report at the change from TCP_CLOSE to TCP_SYN_SENT (TODO b1,o2), which every connect() makes before its SYN leaves; " +
			"a refused one never reaches TCP_ESTABLISHED"
	}
	return "no event names the connecting thread: report at the change to TCP_SYN_SENT (TODO b1), which happens in connect() itself, in the connecting task; " +
		"later changes happen when packets arrive, in whatever task the CPU runs then"
}

// reasons lists how e differs from w, and what to do about each.
func (g grader) reasons(e, w Event) []string {
	var r []string
	switch {
	case e.Pid == 0:
		r = append(r, "pid is 0: set it from bpf_get_current_pid_tgid() (TODO b2)")
	case !g.mine(e.Pid):
		r = append(r, fmt.Sprintf("pid %d is not the connecting thread's (%d): report at the change to TCP_SYN_SENT (TODO b1), which happens in connect() itself, in the connecting task", e.Pid, w.Pid))
	}
	switch {
	case e.Comm == w.Comm:
	case e.Comm == "":
		r = append(r, "comm is empty: fill it with bpf_get_current_comm(&data.comm, sizeof(data.comm)) (TODO b2)")
	case strings.HasPrefix(w.Comm, e.Comm):
		r = append(r, fmt.Sprintf("comm %q is cut short: give bpf_get_current_comm all of data.comm, sizeof(data.comm) (TODO b2)", e.Comm))
	default:
		r = append(r, fmt.Sprintf("comm %q is not the connecting thread's name %q (TODO b2)", e.Comm, w.Comm))
	}
	if e.Saddr == w.Daddr && e.Daddr == w.Saddr {
		return append(r, "saddr and daddr are swapped: saddr is the connecting side's address, daddr node1's (TODO b3)")
	}
	r = append(r, addrReason("saddr", e.Saddr, w.Saddr)...)
	r = append(r, addrReason("daddr", e.Daddr, w.Daddr)...)
	switch {
	case e.Dport == w.Dport:
	case e.Dport == bits.ReverseBytes16(w.Dport):
		r = append(r, fmt.Sprintf("dport is byte-swapped (%d is %d with its bytes swapped): the tracepoint gives it in host order already; "+
			"only a kprobe reading the socket's skc_dport converts it with bpf_ntohs (TODO b3)", e.Dport, w.Dport))
	case e.Dport == 0:
		r = append(r, "dport is 0: report the destination port, ctx->dport; at TCP_SYN_SENT the source port (sport) is not chosen yet (TODO b3)")
	default:
		r = append(r, fmt.Sprintf("dport %d, want %d (TODO b3)", e.Dport, w.Dport))
	}
	return append(r, g.stepReasons(e, w)...)
}

// stepReasons say how the step's own field is wrong.
func (g grader) stepReasons(e, w Event) []string {
	switch {
	case g.stepFieldsOK(e, w):
		return nil
	case g.step == stepOutcome && w.Established == 1 && e.Established == 0:
		return []string{"established is 0 for a connect that was established: report when the socket leaves TCP_SYN_SENT, " +
			"with established = (ctx->newstate == TCP_ESTABLISHED) (TODO o2)"}
	case g.step == stepOutcome && w.Established == 0:
		return []string{fmt.Sprintf("established is %d for the refused connect: it left TCP_SYN_SENT for TCP_CLOSE; "+
			"set established = (ctx->newstate == TCP_ESTABLISHED) (TODO o2)", e.Established)}
	case g.step == stepOutcome:
		return []string{fmt.Sprintf("established is %d: 1 when the connect was established, 0 when refused (TODO o2)", e.Established)}
	case e.DeltaUS == 0:
		return []string{"delta_us is 0: report the time from TCP_SYN_SENT to TCP_ESTABLISHED in microseconds, (now - start) / 1000 (TODO l2)"}
	case e.DeltaUS > 1_000_000_000_000_000:
		return []string{fmt.Sprintf("delta_us %d: the time went backwards and wrapped around: subtract the start from now, not now from the start (TODO l2)", e.DeltaUS)}
	case e.DeltaUS > 1_000_000_000:
		return []string{fmt.Sprintf("delta_us %d is more than 1000 s: it counts from boot; note the start at TCP_SYN_SENT with bpf_ktime_get_ns() (TODO l1)", e.DeltaUS)}
	}
	return []string{fmt.Sprintf("delta_us %d is more than the whole connect() took (%d us): bpf_ktime_get_ns() counts nanoseconds; divide by 1000 (TODO l2)", e.DeltaUS, g.longestUS)}
}

// forgotten grades the steps' socklist: once a connect ended, the map
// holds nothing of it, or it fills up with the machine's connects.
func (g grader) forgotten(env *labs.Env) (labs.Result, error) {
	m, err := grade.OpenMap(env, socklist, true)
	if err != nil {
		return labs.Result{}, err
	}
	defer m.Close()
	var (
		key   uint64
		value []byte
		left  int
	)
	it := m.Iterate()
	for it.Next(&key, &value) {
		// Every step's value starts with the struct data_t of the connect.
		if e, err := Decode(value, ""); err == nil && g.related(e) && e.Saddr == g.src {
			left++
		}
	}
	if err := it.Err(); err != nil {
		return labs.Result{}, labs.Errorf(labs.ErrEnvironment, "read %s: %w", socklist, err)
	}
	return labs.Assert("socklist holds none of the check's connects once they ended", left == 0, "0 entries", fmt.Sprint(left),
		"delete the socket's entry (bpf_map_delete_elem(&socklist, &sk)) when the connect ends, established or refused (TODO o2): else the map fills up"), nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// addrReason says how an address field differs from the one wanted.
func addrReason(field string, got, want netip.Addr) []string {
	g, w := got.As4(), want.As4()
	switch {
	case got == want:
		return nil
	case got.IsUnspecified():
		return []string{fmt.Sprintf("%s is 0.0.0.0: copy the tracepoint's %s (TODO b3); a kprobe at tcp_v4_connect's entry finds no source address yet, its kretprobe does", field, field)}
	case g == [4]byte{w[3], w[2], w[1], w[0]}:
		return []string{fmt.Sprintf("%s is byte-swapped (%s for %s): copy the tracepoint's 4 bytes as they are, in network order (TODO b3)", field, got, want)}
	}
	return []string{fmt.Sprintf("%s %s, want %s (TODO b3)", field, got, want)}
}

// extra are the events of the check's thread that are none of its
// connects.
func (g grader) extra(ws ...Event) []Event {
	var out []Event
	for _, e := range g.events {
		if g.mine(e.Pid) && e.Comm == g.comm && !slices.ContainsFunc(ws, func(w Event) bool { return g.matches(e, w) }) {
			out = append(out, e)
		}
	}
	return out
}

// describe lists a few events.
func describe(events []Event) string {
	if len(events) == 0 {
		return "none"
	}
	var s []string
	for _, e := range events[:min(len(events), 3)] {
		s = append(s, e.String())
	}
	if len(events) > 3 {
		s = append(s, fmt.Sprintf("and %d more", len(events)-3))
	}
	return fmt.Sprintf("%d: %s", len(events), strings.Join(s, "; "))
}

// noEvents is the hint when the program sent nothing at all.
var noEvents = map[string]string{
	"": "no event at all: at the change from TCP_CLOSE to TCP_SYN_SENT (TODO b1), fill a struct data_t with the thread's id and name (TODO b2) " +
		"and the addresses and the port (TODO b3), and send it through events with bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &data, sizeof(data)) (TODO b4)",
	stepOutcome: "no event at all: remember each connect in socklist at TCP_SYN_SENT (TODO o1), and report it with bpf_perf_event_output when it leaves TCP_SYN_SENT (TODO o2)",
	stepLatency: "no event at all: note when each connect began (TODO l1), and report it with bpf_perf_event_output when it is established (TODO l2)",
}

// todoMark is where a hint names a TODO: "(TODO b1,o2)" is TODO 1 of the
// base exercise's starter and TODO 2 of the outcome step's, for the same
// fix; a step whose starter has the line written has none.
var todoMark = regexp.MustCompile(` \(TODO ([a-z0-9,]+)\)`)

// todoLetters are the steps' letters in todoMark.
var todoLetters = map[string]string{"": "b", stepOutcome: "o", stepLatency: "l"}

// resolveTodos turns the marks of a hint into the TODOs of the step's
// starter: " (TODO 2 in tcp_connect.c)", or nothing.
func resolveTodos(hint, step string) string {
	return todoMark.ReplaceAllStringFunc(hint, func(m string) string {
		for _, t := range strings.Split(todoMark.FindStringSubmatch(m)[1], ",") {
			if strings.HasPrefix(t, todoLetters[step]) {
				return fmt.Sprintf(" (TODO %s in %s.c)", t[1:], labName)
			}
		}
		return ""
	})
}
