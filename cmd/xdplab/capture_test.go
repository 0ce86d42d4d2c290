package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/topology"
)

// bgCapture is `xdplab capture` running in the background, as in a second
// terminal.
type bgCapture struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{} // closed when stderr is at EOF
}

// startCapture starts `xdplab capture ARGS --instance inst` and waits until
// it says it captures (its programs are in place). stdout may be nil.
func startCapture(t *testing.T, inst string, stdout io.Writer, args ...string) *bgCapture {
	t.Helper()
	c := &bgCapture{cmd: exec.Command(bin, append(append([]string{"capture"}, args...), "--instance", inst)...), done: make(chan struct{})}
	c.cmd.Stdout = stdout
	pipe, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(c.done)
		s := bufio.NewScanner(pipe)
		once := sync.Once{}
		for s.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(s.Text() + "\n")
			c.mu.Unlock()
			if strings.HasPrefix(s.Text(), "capturing ") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-c.done:
		c.cmd.Wait()
		t.Fatalf("capture %v ended before it started:\n%s", args, c.errText())
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		t.Fatalf("capture %v did not start:\n%s", args, c.errText())
	}
	return c
}

func (c *bgCapture) errText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// stop sends Ctrl-C (SIGINT) and returns the exit code and stderr.
func (c *bgCapture) stop(t *testing.T) (int, string) {
	t.Helper()
	c.cmd.Process.Signal(os.Interrupt)
	return c.wait(t)
}

func (c *bgCapture) wait(t *testing.T) (int, string) {
	t.Helper()
	<-c.done
	err := c.cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, c.errText()
}

// upXdpcap brings the lab up in a fresh instance, taken down at cleanup.
func upXdpcap(t *testing.T) (inst string, host, node1 *namespace.NS) {
	t.Helper()
	inst = testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "xdpcap"))
	var err error
	if host, err = namespace.Open(topology.NamespaceName(inst, "xdpcap", "host")); err != nil {
		t.Fatal(err)
	}
	if node1, err = namespace.Open(topology.NamespaceName(inst, "xdpcap", "node1")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close(); node1.Close() })
	return inst, host, node1
}

var node1Addr = netip.MustParseAddr("192.168.0.2")

// trafficMix sends pings, UDP to the dropped port 9 and to 7777, and a TCP
// exchange (SYN, data, FIN) from host to node1.
func trafficMix(t *testing.T, host, node1 *namespace.NS) {
	t.Helper()
	ctx := context.Background()
	if _, err := traffic.Ping(ctx, host, node1Addr, traffic.PingOptions{Count: 3}); err != nil {
		t.Fatal(err)
	}
	if err := traffic.UDP(ctx, host, netip.AddrPortFrom(node1Addr, 9), 4, 32); err != nil {
		t.Fatal(err)
	}
	sink, err := traffic.ListenUDP(node1, netip.AddrPortFrom(node1Addr, 7777))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := traffic.UDP(ctx, host, netip.AddrPortFrom(node1Addr, 7777), 2, 200); err != nil {
		t.Fatal(err)
	}
	ln, err := traffic.ListenTCP(node1, netip.AddrPortFrom(node1Addr, 8888))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := traffic.TCPConnect(ctx, host, netip.AddrPortFrom(node1Addr, 8888), []byte("hello xdpcap\n")); err != nil {
		t.Fatal(err)
	}
	// The last ACKs of the TCP close, and generic XDP's softirq, run a
	// little after the calls return; let them land before the captures
	// stop (this waits, it does not time anything).
	time.Sleep(300 * time.Millisecond)
}

// tcpdumpPackets reads a capture file with the system's tcpdump, one string
// per packet (its summary and hex dump, no timestamp), sorted: the perf
// rings are per CPU, so file order is not arrival order.
func tcpdumpPackets(t *testing.T, file string, filter ...string) []string {
	t.Helper()
	out := run(t, "tcpdump", append([]string{"-nn", "-t", "-xx", "-r", file}, filter...)...)
	var packets []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "reading from file"):
		case strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " "):
			if len(packets) > 0 {
				packets[len(packets)-1] += "\n" + line
			}
		default:
			packets = append(packets, line)
		}
	}
	sort.Strings(packets)
	return packets
}

// TestCaptureMatchesTcpdump is the acceptance test of the capture command:
// what `xdplab capture xdpcap -w F FILTER` keeps from a traffic mix equals
// what the system's tcpdump keeps, with the same filter, from a capture of
// everything (an --entry capture running at the same time sees every
// packet before the program, whatever it then decides).
func TestCaptureMatchesTcpdump(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "tcpdump")
	inst, host, node1 := upXdpcap(t)
	for _, expr := range []string{"icmp", "udp port 9", "tcp[tcpflags] & tcp-syn != 0", "greater 90", "udp and not port 9"} {
		t.Run(expr, func(t *testing.T) {
			dir := t.TempDir()
			all, kept := filepath.Join(dir, "all.pcapng"), filepath.Join(dir, "kept.pcapng")
			everything := startCapture(t, inst, nil, "xdpcap", "--entry", "-w", all)
			// The filter as a learner types it, unquoted: one word per argument.
			filtered := startCapture(t, inst, nil, append([]string{"xdpcap", "-w", kept}, strings.Fields(expr)...)...)
			trafficMix(t, host, node1)
			code, stderr := filtered.stop(t)
			if code != 0 {
				t.Fatalf("filtered capture exited %d:\n%s", code, stderr)
			}
			if code, stderr := everything.stop(t); code != 0 {
				t.Fatalf("entry capture exited %d:\n%s", code, stderr)
			}
			want := tcpdumpPackets(t, all, expr)
			got := tcpdumpPackets(t, kept)
			t.Logf("%q keeps %d of the %d packets", expr, len(want), len(tcpdumpPackets(t, all)))
			if len(want) == 0 {
				t.Fatalf("tcpdump keeps nothing of the mix for %q: the mix does not exercise this filter", expr)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("xdplab capture kept %d packets, tcpdump -r ALL %q keeps %d:\nxdplab:\n%s\ntcpdump:\n%s",
					len(got), expr, len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !strings.Contains(stderr, "(received/matched/lost)") || !strings.Contains(stderr, "lost") {
				t.Errorf("no counts on stderr:\n%s", stderr)
			}
		})
	}
}

// TestCapturePipe: `xdplab capture xdpcap -w - icmp | tcpdump -r -` prints
// the pings, and a reader that stops early (tcpdump -c) ends the capture
// cleanly, hook slots emptied.
func TestCapturePipe(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "tcpdump")
	inst, host, _ := upXdpcap(t)
	hook := filepath.Join("/sys/fs/bpf/xdplab", inst, "xdpcap", "xdpcap_hook")

	t.Run("until Ctrl-C", func(t *testing.T) {
		td := exec.Command("tcpdump", "-nn", "-r", "-")
		in, err := td.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		td.Stdout, td.Stderr = &out, &out
		if err := td.Start(); err != nil {
			t.Fatal(err)
		}
		c := startCapture(t, inst, in, "xdpcap", "-w", "-", "icmp")
		if _, err := traffic.Ping(context.Background(), host, node1Addr, traffic.PingOptions{Count: 3}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		code, stderr := c.stop(t)
		in.Close()
		td.Wait()
		if code != 0 {
			t.Fatalf("capture exited %d:\n%s", code, stderr)
		}
		if n := strings.Count(out.String(), "ICMP echo request"); n != 3 {
			t.Errorf("tcpdump printed %d echo requests, want 3:\n%s", n, out.String())
		}
		if !strings.Contains(out.String(), "reading from file -, link-type EN10MB") {
			t.Errorf("tcpdump did not read a pcapng stream:\n%s", out.String())
		}
	})
	t.Run("reader stops first", func(t *testing.T) {
		td := exec.Command("tcpdump", "-nn", "-c", "2", "-r", "-")
		in, err := td.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		td.Stdout, td.Stderr = &out, &out
		if err := td.Start(); err != nil {
			t.Fatal(err)
		}
		c := startCapture(t, inst, in, "xdpcap", "-w", "-", "icmp")
		in.Close() // tcpdump holds the pipe's read end; we keep no copy of the write end
		if _, err := traffic.Ping(context.Background(), host, node1Addr, traffic.PingOptions{Count: 2}); err != nil {
			t.Fatal(err)
		}
		td.Wait()
		// tcpdump is gone: the next packet's write fails and the capture ends.
		if _, err := traffic.Ping(context.Background(), host, node1Addr, traffic.PingOptions{Count: 2}); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var code int
		var stderr string
		go func() { code, stderr = c.wait(t); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			t.Fatal("capture did not end when its reader went away")
		}
		if code != 0 {
			t.Errorf("capture exited %d after its reader went away:\n%s", code, stderr)
		}
		if n := heldSlots(t, hook); n != 0 {
			t.Errorf("%d hook slots still held", n)
		}
	})
}

func heldSlots(t *testing.T, pin string) int {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n := 0
	for k := range m.MaxEntries() {
		var id uint32
		if m.Lookup(k, &id) == nil {
			n++
		}
	}
	return n
}

func TestCaptureBadInput(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst, _, _ := upXdpcap(t)
	pinDir := filepath.Join("/sys/fs/bpf/xdplab", inst, "xdpcap")
	hook := filepath.Join(pinDir, "xdpcap_hook")

	t.Run("bad filter", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "f.pcapng")
		wantError(t, xdplab(t, inst, "capture", "xdpcap", "-w", out, "udp", "port", "nine"),
			`compile filter "udp port nine": unknown port 'nine'`)
		wantError(t, xdplab(t, inst, "capture", "xdpcap", "tcp[tcpflags] &"), `compile filter "tcp[tcpflags] &": can't parse filter expression: syntax error`)
		if n := heldSlots(t, hook); n != 0 {
			t.Errorf("a bad filter left %d hook slots held", n)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a bad filter created the output file (%v)", err)
		}
	})
	t.Run("not a hook", func(t *testing.T) {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 5})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		arr := filepath.Join(pinDir, "not_a_hook")
		if err := m.Pin(arr); err != nil {
			t.Fatal(err)
		}
		defer m.Unpin()
		wantError(t, xdplab(t, inst, "capture", arr),
			arr+" is a map of type Array, not an xdpcap hook: expected ProgramArray, have Array",
			"capture programs can only be chained in through a PROG_ARRAY")
		wantError(t, xdplab(t, inst, "capture", filepath.Join(pinDir, "prog_xdp")), "is not a pinned map, so it is not an xdpcap hook")
		wantError(t, xdplab(t, inst, "capture", filepath.Join(pinDir, "missing")), "no xdpcap hook at")
		wantError(t, xdplab(t, inst, "capture", hook, "--entry"), "--entry needs a lab name")
	})
	t.Run("lab not up", func(t *testing.T) {
		other := testutils.Instance(t)
		wantError(t, xdplab(t, other, "capture", "xdpcap", "icmp"), "xdpcap is not up in instance "+other, "xdplab up xdpcap --instance "+other)
		wantError(t, xdplab(t, inst, "capture", "packet_counter"), "lab packet_counter has no xdpcap hook")
		wantError(t, xdplab(t, inst, "capture", "xdpcapp"), `unknown lab "xdpcapp"`)
		wantError(t, xdplab(t, inst, "capture", "xdpcap", "--actions", "pass,bounce"), `unknown xdp action "bounce"`)
	})
	t.Run("slots held by another capture", func(t *testing.T) {
		first := startCapture(t, inst, nil, "xdpcap", "--actions", "drop")
		r := xdplab(t, inst, "capture", "xdpcap", "icmp")
		wantError(t, r, "slot drop of hook "+hook+" already holds program", "another capture (xdplab capture or cloudflare's xdpcap) is using this hook")
		// Another slot is free to take, next to the first capture.
		second := startCapture(t, inst, nil, "xdpcap", "--actions", "pass")
		if code, stderr := second.stop(t); code != 0 {
			t.Errorf("second capture: exit %d\n%s", code, stderr)
		}
		if n := heldSlots(t, hook); n != 1 {
			t.Errorf("%d slots held, want the first capture's", n)
		}
		if code, stderr := first.stop(t); code != 0 {
			t.Errorf("first capture: exit %d\n%s", code, stderr)
		}
		if n := heldSlots(t, hook); n != 0 {
			t.Errorf("%d slots held after both ended", n)
		}
	})
	mustSucceed(t, xdplab(t, inst, "down"))
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestCaptureKilled: a capture killed with SIGKILL cannot clean up. The lab
// must keep working (its program still runs behind the front program,
// through the pinned next_prog), and the next capture must put things back.
func TestCaptureKilled(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst, host, _ := upXdpcap(t)
	node1 := topology.NamespaceName(inst, "xdpcap", "node1")
	hook := filepath.Join("/sys/fs/bpf/xdplab", inst, "xdpcap", "xdpcap_hook")
	c := startCapture(t, inst, nil, "xdpcap", "--entry", "--actions", "pass")
	if link := run(t, "ip", "-n", node1, "link", "show", "veth1"); !strings.Contains(link, "name xdpdump_") {
		t.Errorf("--entry: the link does not run the front program:\n%s", link)
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.wait(t)

	ping, err := traffic.Ping(context.Background(), host, node1Addr, traffic.PingOptions{Count: 3})
	if err != nil || ping.Received != 3 {
		t.Fatalf("after the kill the lab no longer answers pings: %v, %d received", err, ping.Received)
	}
	next := startCapture(t, inst, nil, "xdpcap", "--entry", "--actions", "pass")
	code, stderr := next.stop(t)
	if code != 0 {
		t.Fatalf("capture after the kill: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"put the lab program xdp_discard back on its link", "emptied hook slot pass", "which is gone"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if link := run(t, "ip", "-n", node1, "link", "show", "veth1"); !strings.Contains(link, "name xdp_discard") {
		t.Errorf("the lab program is not back:\n%s", link)
	}
	if n := heldSlots(t, hook); n != 0 {
		t.Errorf("%d hook slots held", n)
	}
	mustSucceed(t, xdplab(t, inst, "check", "xdpcap"))
	mustSucceed(t, xdplab(t, inst, "down"))
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestCaptureFileSurvivesSignals: whatever ends `capture -w FILE`, the file
// holds every packet that came a second or more before the end. SIGKILL
// skips every cleanup, so the packets must be in the file already; Ctrl-C
// and SIGTERM end it properly, with a statistics block per interface.
func TestCaptureFileSurvivesSignals(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "tcpdump")
	inst, host, _ := upXdpcap(t)
	const datagrams = 25
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.pcapng")
			c := startCapture(t, inst, nil, "xdpcap", "-w", file, "udp", "port", "9")
			if err := traffic.UDP(context.Background(), host, netip.AddrPortFrom(node1Addr, 9), datagrams, 32); err != nil {
				t.Fatal(err)
			}
			// The promise is "everything up to the last second": give it that.
			time.Sleep(1500 * time.Millisecond)
			c.cmd.Process.Signal(sig)
			code, stderr := c.wait(t)
			if sig != syscall.SIGKILL && code != 0 {
				t.Errorf("capture ended by %s exited %d:\n%s", sig, code, stderr)
			}
			// tcpdump is the independent reader; run fails the test if it
			// cannot read the file.
			if got := tcpdumpPackets(t, file); len(got) != datagrams {
				t.Errorf("tcpdump reads %d packets from the file of a capture ended by %s, want %d:\n%s",
					len(got), sig, datagrams, strings.Join(got, "\n"))
			}
			stats := 0
			for _, typ := range pcapngBlockTypes(t, file) {
				if typ == 5 { // Interface Statistics Block
					stats++
				}
			}
			want := 5 // one per interface: XDPaborted ... XDPredirect
			if sig == syscall.SIGKILL {
				want = 0
			}
			if stats != want {
				t.Errorf("ended by %s: %d statistics blocks, want %d", sig, stats, want)
			}
		})
	}
}

// pcapngBlockTypes walks a little-endian pcapng file block by block and
// fails the test if a block is cut short.
func pcapngBlockTypes(t *testing.T, file string) []uint32 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var types []uint32
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatalf("%s ends with %d bytes of a block", file, len(b))
		}
		n := int(binary.LittleEndian.Uint32(b[4:]))
		if n < 12 || n > len(b) || binary.LittleEndian.Uint32(b[n-4:]) != uint32(n) {
			t.Fatalf("%s: block %d (type %d) is cut short or malformed", file, len(types), binary.LittleEndian.Uint32(b))
		}
		types = append(types, binary.LittleEndian.Uint32(b))
		b = b[n:]
	}
	return types
}

// capturePlaces reads, as bpftool would, the names of the programs in the
// xdpcap lab's hook slots and on its link.
func capturePlaces(t *testing.T, inst string) (slots []string, onLink string) {
	t.Helper()
	dir := filepath.Join("/sys/fs/bpf/xdplab", inst, "xdpcap")
	hook, err := ebpf.LoadPinnedMap(filepath.Join(dir, "xdpcap_hook"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hook.Close()
	for k := range hook.MaxEntries() {
		var id uint32
		if hook.Lookup(k, &id) == nil {
			slots = append(slots, progName(ebpf.ProgramID(id)))
		}
	}
	l, err := link.LoadPinnedLink(filepath.Join(dir, "link_node1_veth1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	return slots, progName(info.Program)
}

func progName(id ebpf.ProgramID) string {
	p, err := ebpf.NewProgramFromID(id)
	if err != nil {
		return "" // gone between the lookup and now
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		return ""
	}
	return info.Name
}

// killCheckWhile starts `check xdpcap` and SIGKILLs it as soon as holding
// says its capture programs are where the test wants them.
func killCheckWhile(t *testing.T, inst string, holding func(slots []string, onLink, suffix string) bool) {
	t.Helper()
	cmd := exec.Command(bin, "check", "xdpcap", "--instance", inst)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	suffix := "_" + strconv.Itoa(cmd.Process.Pid)
	for {
		select {
		case <-exited:
			t.Fatal("check ended before its captures held the places this test kills it in")
		default:
		}
		if slots, onLink := capturePlaces(t, inst); holding(slots, onLink, suffix) {
			cmd.Process.Kill()
			<-exited
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStaleLeftovers: a capture or a check killed while it holds the hook
// leaves its programs behind. `status` shows them as stale with the command
// that clears them and exits non-zero; that command clears them; after it
// `status` is clean and `check` passes.
func TestStaleLeftovers(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst, _, _ := upXdpcap(t)
	dir := filepath.Join("/sys/fs/bpf/xdplab", inst, "xdpcap")
	wantFix := "xdplab capture xdpcap --clear-stale --instance " + inst
	killCapture := func(args ...string) func(t *testing.T) {
		return func(t *testing.T) {
			c := startCapture(t, inst, nil, args...)
			c.cmd.Process.Kill()
			c.wait(t)
		}
	}
	cases := []struct {
		name string
		kill func(t *testing.T)
	}{
		{"capture", killCapture("xdpcap")},
		{"capture --entry", killCapture("xdpcap", "--entry", "--actions", "drop")},
		{"check in its hook captures", func(t *testing.T) {
			killCheckWhile(t, inst, func(slots []string, _, suffix string) bool {
				return slices.ContainsFunc(slots, func(s string) bool { return strings.HasSuffix(s, suffix) })
			})
		}},
		{"check in its entry capture", func(t *testing.T) {
			killCheckWhile(t, inst, func(_ []string, onLink, suffix string) bool {
				return onLink == "xdpdump"+suffix
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.kill(t)
			slots, onLink := capturePlaces(t, inst)
			if len(slots) == 0 && onLink == "xdp_discard" {
				t.Fatal("the kill left nothing behind: the test did not kill where it meant to")
			}
			st := xdplab(t, inst, "status")
			if st.code == 0 || !strings.Contains(st.stdout, "problem: stale capture program") {
				t.Fatalf("status after the kill (slots %v, link %s) shows no stale capture program or exits 0:\n%s", slots, onLink, st)
			}
			var fixes []string
			for _, line := range strings.Split(st.stdout, "\n") {
				if fix, ok := strings.CutPrefix(strings.TrimSpace(line), "fix: "); ok {
					fixes = append(fixes, fix)
				}
			}
			if len(fixes) == 0 || slices.ContainsFunc(fixes, func(f string) bool { return f != wantFix }) {
				t.Fatalf("status fixes %q, want each to be %q:\n%s", fixes, wantFix, st)
			}
			cleared := mustSucceed(t, xdplabCmd(t, exec.Command(bin, strings.Fields(wantFix)[1:]...)))
			t.Logf("%s:\n%s", wantFix, cleared.stdout)
			if st := xdplab(t, inst, "status"); st.code != 0 || strings.Contains(st.stdout, "problem:") {
				t.Fatalf("status after the fix:\n%s", st)
			}
			if slots, onLink := capturePlaces(t, inst); len(slots) != 0 || onLink != "xdp_discard" {
				t.Errorf("after the fix: hook slots hold %v, the link runs %q", slots, onLink)
			}
			if _, err := os.Stat(filepath.Join(dir, "next_prog")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("next_prog is still pinned after the fix (%v)", err)
			}
			// Nothing left for check to repair: it passes as it is.
			mustSucceed(t, xdplab(t, inst, "check", "xdpcap"))
		})
	}
	t.Run("nothing to clear", func(t *testing.T) {
		r := mustSucceed(t, xdplab(t, inst, "capture", "xdpcap", "--clear-stale"))
		if !strings.Contains(r.stdout, "no leftovers of killed captures") {
			t.Errorf("--clear-stale with nothing stale:\n%s", r)
		}
		wantError(t, xdplab(t, inst, "capture", "xdpcap", "--clear-stale", "icmp"), "--clear-stale captures nothing")
	})
}

// TestCheckWhileLearnerCaptures: a learner's running capture holds a place
// the check captures at itself. The check cannot run then: its report
// carries an error that names the capture and the way out, it blames
// nothing on the learner's program, and the learner's capture goes on
// capturing as if nothing happened.
func TestCheckWhileLearnerCaptures(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "tcpdump")
	inst, host, _ := upXdpcap(t)
	r := &labs.Runner{Registry: course.Registry(), Instance: inst}
	const datagrams = 5
	for _, args := range [][]string{{"xdpcap"}, {"xdpcap", "--entry"}, {"xdpcap", "--actions", "drop"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "learner.pcapng")
			c := startCapture(t, inst, nil, append(args, "-w", file, "udp", "port", "9")...)
			reports, err := r.Check(context.Background(), "xdpcap")
			if err != nil {
				t.Fatal(err)
			}
			if len(reports) != 1 {
				t.Fatalf("%d reports", len(reports))
			}
			rep := reports[0]
			for _, want := range []string{
				fmt.Sprintf("the xdpcap hook is in use by a capture (pid %d: xdplab capture %s", c.cmd.Process.Pid, strings.Join(args, " ")),
				"stop that capture (Ctrl-C in its terminal) and re-run `xdplab check xdpcap --instance " + inst + "`",
			} {
				if !strings.Contains(rep.Error, want) {
					t.Errorf("report error %q does not say %q", rep.Error, want)
				}
			}
			for _, res := range rep.Results {
				if !res.Pass {
					t.Errorf("the learner's program is blamed: FAIL %s: expected %s, observed %s", res.Name, res.Expected, res.Observed)
				}
			}
			if rep.Pass {
				t.Error("a check that could not run passed")
			}
			if chk := xdplab(t, inst, "check", "xdpcap"); chk.code != 2 || !strings.Contains(chk.stdout, "ERROR: could not check") {
				t.Errorf("check from the command line while a capture holds the hook, want exit 2 (could not check):\n%s", chk)
			}

			// The learner's capture still captures.
			if err := traffic.UDP(context.Background(), host, netip.AddrPortFrom(node1Addr, 9), datagrams, 32); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // generic XDP runs a little after send returns
			code, stderr := c.stop(t)
			if code != 0 || strings.Contains(stderr, "emptied") || strings.Contains(stderr, "put the lab program") {
				t.Errorf("learner's capture: exit %d, stderr:\n%s", code, stderr)
			}
			if got := tcpdumpPackets(t, file); len(got) != datagrams {
				t.Errorf("the learner's capture holds %d datagrams sent after the check, want %d:\n%s", len(got), datagrams, strings.Join(got, "\n"))
			}
		})
	}
	t.Run("another tool's program in a slot", func(t *testing.T) {
		hook, err := ebpf.LoadPinnedMap(filepath.Join("/sys/fs/bpf/xdplab", inst, "xdpcap", "xdpcap_hook"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer hook.Close()
		theirs, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name: "their_capture", Type: ebpf.XDP, AttachType: ebpf.AttachXDP, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer theirs.Close()
		if err := hook.Put(uint32(1), theirs); err != nil {
			t.Fatal(err)
		}
		defer hook.Delete(uint32(1))
		reports, err := r.Check(context.Background(), "xdpcap")
		if err != nil {
			t.Fatal(err)
		}
		if e := reports[0].Error; !strings.Contains(e, "in use by a program xdplab did not load (hook slot drop holds program") ||
			!strings.Contains(e, "(their_capture)") || !strings.Contains(e, "stop that tool and re-run `xdplab check xdpcap --instance "+inst+"`") {
			t.Errorf("report error %q", e)
		}
		if len(reports[0].Results) != 0 {
			t.Errorf("results %+v from a check that could not run", reports[0].Results)
		}
	})
	mustSucceed(t, xdplab(t, inst, "check", "xdpcap"))
}
