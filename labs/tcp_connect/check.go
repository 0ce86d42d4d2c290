package tcpconnect

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// connects is how many accepted connects the check makes.
const connects = 3

// checkComm is the name of the thread the check connects from: its
// instance's, so that two instances' checks tell their events apart by
// name as well as by thread id, and always 15 bytes long, the most a name
// holds, so that a name cut short shows ("tc-xdplab-check").
func checkComm(instance string) string {
	return ("tc-" + instance + "-checking-connects")[:commLen-1]
}

// acted is what the check's thread did.
type acted struct {
	thread grade.Thread
	// refusedErr is what the connect to the closed port returned.
	refusedErr error
	failed     []string // connects that should have worked and did not
	// longest is the longest of the accepted connects' connect() calls:
	// no connect of them can have taken longer to be established.
	longest time.Duration
}

// connectFrom makes, from a thread of its own named comm in from's
// namespace, the check's connects: connects to port (a listener) and one
// to closed (a port bound and not listening, refused), then a UDP
// connect(), which is no TCP connection and must not be reported.
func connectFrom(from topology.Place, to netip.Addr, port, closed int, comm string) (acted, error) {
	var a acted
	err := grade.OnThread(comm, func(th grade.Thread) error {
		a.thread = th
		// The thread is never given back to Go's scheduler (OnThread), so
		// it can stay in the host's namespace.
		if err := unix.Setns(from.NS.Fd(), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter %s's namespace: %w", from.Node, err)
		}
		sa := func(p int) *unix.SockaddrInet4 { return &unix.SockaddrInet4{Port: p, Addr: to.As4()} }
		connect := func(typ, p int) error {
			fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			// A SYN that gets no answer is given up on after 2 s, not the
			// kernel's two minutes.
			tv := unix.Timeval{Sec: 2}
			unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
			return unix.Connect(fd, sa(p))
		}
		for i := range connects {
			start := time.Now()
			err := connect(unix.SOCK_STREAM, port)
			a.longest = max(a.longest, time.Since(start))
			if err != nil {
				a.failed = append(a.failed, fmt.Sprintf("connect %d to %s:%d: %v", i+1, to, port, err))
			}
		}
		a.refusedErr = connect(unix.SOCK_STREAM, closed)
		if err := connect(unix.SOCK_DGRAM, port); err != nil {
			return fmt.Errorf("udp connect() to %s:%d: %w", to, port, err)
		}
		return nil
	})
	return a, err
}

// Check connects from host to node1 and compares every field of every
// event the lab's program sent for the check's thread with what it did.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	sender, dut := env.Topo.MustRole("sender"), env.Topo.MustRole("dut")
	rd, err := grade.OpenPerf(env, mapName, ringPages)
	if err != nil {
		return nil, err
	}
	defer rd.Close()

	// A listener in node1 that accepts and closes, and a port bound there
	// that does not listen: a SYN to it is answered with a RST.
	var (
		ln                 net.Listener
		listenFd, closedFd = -1, -1
		port, closedNum    int
	)
	err = dut.NS.Do(func() (err error) {
		if listenFd, port, err = bindVisible(dut.Addr.Addr(), true); err != nil {
			return err
		}
		closedFd, closedNum, err = bindVisible(dut.Addr.Addr(), false)
		return err
	})
	if err == nil {
		f := os.NewFile(uintptr(listenFd), "listener")
		ln, err = net.FileListener(f) // its own copy of the socket
		f.Close()
	} else if listenFd >= 0 {
		unix.Close(listenFd)
	}
	if closedFd >= 0 {
		defer unix.Close(closedFd)
	}
	if err != nil {
		return nil, labs.Errorf(labs.ErrEnvironment, "listen in %s: %w", dut.Node, err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	comm := checkComm(env.Instance)
	a, err := connectFrom(sender, dut.Addr.Addr(), port, closedNum, comm)
	if err != nil {
		return nil, labs.Errorf(labs.ErrEnvironment, "%w", err)
	}
	step := env.Options.Step
	var events []Event
	lost, err := grade.Drain(rd, func(cpu int, raw []byte) {
		if ev, err := Decode(raw, step); err == nil {
			events = append(events, ev)
		}
	})
	if err != nil {
		return nil, labs.Errorf(labs.ErrEnvironment, "%w", err)
	}
	if len(a.failed) > 0 {
		return nil, labs.Errorf(labs.ErrEnvironment, "%s; a tracing program cannot cause that, so the lab's network is broken: %s",
			strings.Join(a.failed, "; "), env.RebuildFix())
	}
	g := grader{th: a.thread, comm: comm, src: sender.Addr.Addr(), dst: dut.Addr.Addr(), events: events, lost: lost,
		step: step, longestUS: uint64(a.longest.Microseconds()) + 1}
	accepted, refused := g.want(uint16(port)), g.want(uint16(closedNum))
	accepted.Established = 1
	results := []labs.Result{
		g.reported(fmt.Sprintf("each of the %d connects %s -> %s:%d is reported once, every field as done", connects, g.src, g.dst, port), accepted, connects, refused.Dport),
	}
	refusedName := fmt.Sprintf("the refused connect %s -> %s:%d is reported once too (its SYN left before the RST came)", g.src, g.dst, closedNum)
	switch {
	case a.refusedErr != unix.ECONNREFUSED:
		results = append(results, labs.Assert(refusedName, false, "ECONNREFUSED", fmt.Sprint(a.refusedErr),
			"the connect to a port nobody listens on was not refused: "+env.RebuildFix()))
	case step == stepLatency:
		n := g.count(func(e Event) bool { return g.related(e) && e.Dport == refused.Dport })
		results = append(results, labs.Assert(fmt.Sprintf("the refused connect %s -> %s:%d is not reported: it was never established", g.src, g.dst, closedNum),
			n == 0, "0 events", fmt.Sprint(n),
			"report only when the socket goes from TCP_SYN_SENT to TCP_ESTABLISHED (TODO l2): a refused connect goes to TCP_CLOSE"))
	default:
		results = append(results, g.reported(refusedName, refused, 1, accepted.Dport))
	}
	extra := g.extra(accepted, refused)
	results = append(results, labs.Assert("nothing else of the check's thread is reported (its closes, a UDP connect())",
		len(extra) == 0, "no other event", describe(extra),
		extraHint[step]))
	if step != "" {
		r, err := g.forgotten(env)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	for i := range results {
		results[i].Hint = resolveTodos(results[i].Hint, step)
	}
	return results, nil
}

// extraHint is the hint for events of the check's thread that are none
// of its connects.
var extraHint = map[string]string{
	"": "report only the change from TCP_CLOSE to TCP_SYN_SENT (TODO b1): a socket changes state again when it is established and when it closes",
	stepOutcome: "report each connect once, when it leaves TCP_SYN_SENT (TODO o2), and forget it then: " +
		"a socket changes state again when it closes",
	stepLatency: "report each connect once, when it goes from TCP_SYN_SENT to TCP_ESTABLISHED (TODO l2)",
}

// showsSwap reports whether a port's two bytes differ, so that the port
// byte-swapped (a learner's ntohs too many or too few) is another port.
func showsSwap(port int) bool { return port>>8 != port&0xff }

// bindVisible binds a TCP socket to addr, on a port the kernel picks whose
// bytes differ, and listens on it if listen is set. The ports it turns
// down stay bound until it returns, so that the kernel picks others.
func bindVisible(addr netip.Addr, listen bool) (fd, port int, err error) {
	var turnedDown []int
	defer func() {
		for _, d := range turnedDown {
			unix.Close(d)
		}
	}()
	for range 16 {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, 0, fmt.Errorf("tcp socket: %w", err)
		}
		turnedDown = append(turnedDown, fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: addr.As4()}); err != nil {
			return -1, 0, fmt.Errorf("bind %s: %w", addr, err)
		}
		if listen {
			if err := unix.Listen(fd, 16); err != nil {
				return -1, 0, fmt.Errorf("listen on %s: %w", addr, err)
			}
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return -1, 0, fmt.Errorf("getsockname: %w", err)
		}
		if p := sa.(*unix.SockaddrInet4).Port; showsSwap(p) {
			turnedDown = turnedDown[:len(turnedDown)-1]
			return fd, p, nil
		}
	}
	return -1, 0, fmt.Errorf("bind %s: 16 ports in a row had two equal bytes", addr)
}
