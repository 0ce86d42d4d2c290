package capture_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/filter"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/xdpcap"
)

// labHook loads the xdpcap lab's program with a fresh hook and pins the hook
// in the instance's pin directory, as `up` would; everything goes at cleanup.
func labHook(tb testing.TB) (*ebpf.Program, *ebpf.Map, string) {
	tb.Helper()
	inst := testutils.Instance(tb)
	prog, hook, err := xdpcap.LoadProgram()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join("/sys/fs/bpf/xdplab", inst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "xdpcap_hook")
	if err := hook.Pin(path); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		hook.Unpin()
		hook.Close()
		prog.Close()
		os.Remove(dir)
	})
	return prog, hook, path
}

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	ipA  = net.IP{192, 168, 0, 3}
	ipB  = net.IP{192, 168, 0, 2}
)

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func ether() *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
}

func ip(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: ipA, DstIP: ipB}
}

func udp(tb testing.TB, dport layers.UDPPort, payload int) []byte {
	i := ip(layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 40000, DstPort: dport}
	u.SetNetworkLayerForChecksum(i)
	return serialize(tb, ether(), i, u, gopacket.Payload(bytes.Repeat([]byte{0xab}, payload)))
}

func ping(tb testing.TB, payload int) []byte {
	return serialize(tb, ether(), ip(layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1},
		gopacket.Payload(make([]byte, payload)))
}

func tcp(tb testing.TB, syn bool) []byte {
	i := ip(layers.IPProtocolTCP)
	t := &layers.TCP{SrcPort: 40000, DstPort: 8888, SYN: syn, ACK: !syn, Window: 64240}
	t.SetNetworkLayerForChecksum(i)
	return serialize(tb, ether(), i, t)
}

// mix is a traffic mix: pings of two sizes, UDP to the dropped port and
// another, TCP with and without SYN.
func mix(tb testing.TB) [][]byte {
	return [][]byte{ping(tb, 56), udp(tb, 9, 18), udp(tb, 7777, 18), tcp(tb, true), tcp(tb, false), ping(tb, 8), udp(tb, 9, 100)}
}

// run captures while the lab program runs on frames (BPF_PROG_TEST_RUN:
// the tail call into the hook happens as on a live interface).
func run(tb testing.TB, prog *ebpf.Program, opts capture.Options, frames [][]byte) ([]capture.Packet, map[capture.Action]capture.Stats, []uint32) {
	tb.Helper()
	c, err := capture.Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var packets []capture.Packet
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(p capture.Packet) error { packets = append(packets, p); return nil })
	}()
	var rets []uint32
	for _, f := range frames {
		ret, err := prog.Run(&ebpf.RunOptions{Data: f})
		if err != nil {
			tb.Fatal(err)
		}
		rets = append(rets, ret)
	}
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	st, err := c.Stats()
	if err != nil {
		tb.Fatal(err)
	}
	return packets, st, rets
}

func slotsHeld(tb testing.TB, hook *ebpf.Map) int {
	tb.Helper()
	n := 0
	for a := range hook.MaxEntries() {
		var id uint32
		if err := hook.Lookup(a, &id); err == nil {
			n++
		} else if !errors.Is(err, ebpf.ErrKeyNotExist) {
			tb.Fatal(err)
		}
	}
	return n
}

// TestCaptureThroughHook: every packet comes out under its action with its
// bytes, the verdicts are unchanged, and the slots are empty afterwards.
func TestCaptureThroughHook(t *testing.T) {
	testutils.RequirePrivileged(t)
	prog, hook, path := labHook(t)
	frames := mix(t)
	start := time.Now()
	packets, st, rets := run(t, prog, capture.Options{Hook: path}, frames)
	want := []capture.Action{capture.Pass, capture.Drop, capture.Pass, capture.Pass, capture.Pass, capture.Pass, capture.Drop}
	for i, r := range rets {
		if capture.Action(r) != want[i] {
			t.Errorf("frame %d: verdict %d with the capture in place, want %d", i, r, want[i])
		}
	}
	// Rings are per CPU and read one after the other, so the order across
	// CPUs is not the order of the runs: compare as sets.
	wantSet := map[string]int{}
	for i, f := range frames {
		wantSet[want[i].String()+string(f)]++
	}
	for _, p := range packets {
		key := p.Action.String() + string(p.Data)
		if wantSet[key] == 0 || p.Length != len(p.Data) {
			t.Errorf("unexpected packet: %s, %d bytes of %d", p.Action, len(p.Data), p.Length)
		}
		wantSet[key]--
		if p.Time.Before(start.Add(-time.Millisecond)) || p.Time.After(time.Now().Add(time.Millisecond)) {
			t.Errorf("timestamp %v outside the test's run [%v, now]", p.Time, start)
		}
	}
	for k, n := range wantSet {
		if n != 0 {
			t.Errorf("%d packets missing (%d bytes)", n, len(k))
		}
	}
	if s := st[capture.Drop]; s != (capture.Stats{Received: 2, Matched: 2, Written: 2}) {
		t.Errorf("drop stats %+v", s)
	}
	if s := st[capture.Pass]; s != (capture.Stats{Received: 5, Matched: 5, Written: 5}) {
		t.Errorf("pass stats %+v", s)
	}
	if n := slotsHeld(t, hook); n != 0 {
		t.Errorf("%d hook slots still held after the capture", n)
	}
	// With the slots empty again, the program decides alone.
	if ret, _ := prog.Run(&ebpf.RunOptions{Data: frames[1]}); ret != uint32(capture.Drop) {
		t.Errorf("after the capture: verdict %d", ret)
	}
}

// TestCaptureFilters: a filter keeps exactly what libpcap's own filter
// machine keeps, and received = matched + filtered.
func TestCaptureFilters(t *testing.T) {
	testutils.RequirePrivileged(t)
	prog, _, path := labHook(t)
	frames := mix(t)
	for _, expr := range []string{"", "icmp", "udp port 9", "tcp[tcpflags] & tcp-syn != 0", "greater 90", "not udp"} {
		t.Run(expr, func(t *testing.T) {
			// filter.Match is libpcap's bpf_filter, which the filter
			// package's tests hold to what tcpdump -r keeps.
			insns, err := filter.Compile(expr, capture.Snaplen)
			if err != nil {
				t.Fatal(err)
			}
			var want [][]byte
			for _, f := range frames {
				ok, err := filter.Match(insns, f)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					want = append(want, f)
				}
			}
			packets, st, _ := run(t, prog, capture.Options{Hook: path, Filter: expr}, frames)
			diff := map[string]int{}
			for _, w := range want {
				diff[string(w)]++
			}
			for _, p := range packets {
				diff[string(p.Data)]--
			}
			for k, n := range diff {
				if n != 0 {
					t.Errorf("a %d-byte frame: kept %d times fewer than libpcap keeps it", len(k), n)
				}
			}
			var received, matched uint64
			for a, s := range st {
				if s.Received != s.Matched+s.Filtered || s.Written != s.Matched || s.Lost != 0 {
					t.Errorf("%s: %+v", a, s)
				}
				received += s.Received
				matched += s.Matched
			}
			if received != uint64(len(frames)) || matched != uint64(len(want)) {
				t.Errorf("received %d matched %d, want %d and %d", received, matched, len(frames), len(want))
			}
		})
	}
}

// TestCaptureActions: only the chosen slots are taken and captured.
func TestCaptureActions(t *testing.T) {
	testutils.RequirePrivileged(t)
	prog, _, path := labHook(t)
	packets, st, _ := run(t, prog, capture.Options{Hook: path, Actions: []capture.Action{capture.Drop}}, mix(t))
	if len(packets) != 2 || len(st) != 1 || st[capture.Drop].Received != 2 {
		t.Errorf("drop only: %d packets, stats %+v", len(packets), st)
	}
}

func TestBadFilter(t *testing.T) {
	testutils.RequirePrivileged(t)
	_, hook, path := labHook(t)
	_, err := capture.Start(capture.Options{Hook: path, Filter: "udp port nine"})
	if !errors.Is(err, filter.ErrBadFilter) || !strings.Contains(err.Error(), "unknown port 'nine'") {
		t.Fatalf("got %v, want libpcap's message", err)
	}
	if n := slotsHeld(t, hook); n != 0 {
		t.Errorf("a bad filter left %d slots held", n)
	}
}

func TestNotAHook(t *testing.T) {
	testutils.RequirePrivileged(t)
	_, _, path := labHook(t)
	dir := filepath.Dir(path)
	pin := func(spec *ebpf.MapSpec) string {
		m, err := ebpf.NewMap(spec)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, spec.Name)
		if err := m.Pin(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Unpin(); m.Close() })
		return p
	}
	cases := []struct{ path, want string }{
		{pin(&ebpf.MapSpec{Name: "array", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 5}),
			"is a map of type Array, not an xdpcap hook: expected ProgramArray, have Array"},
		{pin(&ebpf.MapSpec{Name: "big", Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 64}),
			"has 64 entries, so its slots cannot be the XDP actions"},
		{filepath.Join(dir, "missing"), "no xdpcap hook at"},
	}
	for _, c := range cases {
		_, err := capture.Start(capture.Options{Hook: c.path})
		if !errors.Is(err, capture.ErrNotHook) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.path, err, c.want)
		}
	}
}

// TestBusy: a slot another capture holds is refused, and that capture keeps
// it; other slots are still free to take.
func TestBusy(t *testing.T) {
	testutils.RequirePrivileged(t)
	prog, hook, path := labHook(t)
	first, err := capture.Start(capture.Options{Hook: path, Actions: []capture.Action{capture.Pass}})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = capture.Start(capture.Options{Hook: path})
	if !errors.Is(err, capture.ErrBusy) || !strings.Contains(err.Error(), "slot pass of hook "+path+" already holds program") ||
		!strings.Contains(err.Error(), "of xdplab capture pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("got %v", err)
	}
	if n := slotsHeld(t, hook); n != 1 {
		t.Errorf("%d slots held, want the first capture's one", n)
	}
	packets, _, _ := run(t, prog, capture.Options{Hook: path, Actions: []capture.Action{capture.Drop}}, mix(t))
	if len(packets) != 2 {
		t.Errorf("drop capture next to a pass capture: %d packets", len(packets))
	}
	first.Close()
	if n := slotsHeld(t, hook); n != 0 {
		t.Errorf("%d slots held after both ended", n)
	}
}

// TestStaleSlot: a slot left by a capture that was killed (its pid is
// gone) is emptied, not refused.
func TestStaleSlot(t *testing.T) {
	testutils.RequirePrivileged(t)
	prog, hook, path := labHook(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	slotProgram(t, hook, capture.TX, "xdpcap_"+strconv.Itoa(dead.Process.Pid))
	var notes []string
	var mu sync.Mutex
	packets, _, _ := run(t, prog, capture.Options{Hook: path, Note: func(s string) { mu.Lock(); notes = append(notes, s); mu.Unlock() }}, mix(t))
	if len(packets) != len(mix(t)) {
		t.Errorf("captured %d packets", len(packets))
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "emptied hook slot tx") || !strings.Contains(notes[0], "which is gone") {
		t.Errorf("notes %q", notes)
	}
	if n := slotsHeld(t, hook); n != 0 {
		t.Errorf("%d slots held", n)
	}
}

// slotProgram puts a do-nothing XDP program with the given name in a hook
// slot, as another capture would.
func slotProgram(t *testing.T, hook *ebpf.Map, a capture.Action, name string) {
	t.Helper()
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: name, Type: ebpf.XDP, AttachType: ebpf.AttachXDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, int32(a)), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close() // the slot keeps it
	if err := hook.Put(uint32(a), p); err != nil {
		t.Fatal(err)
	}
}

// TestStalePidReused: a program left by a killed capture whose pid now
// belongs to an unrelated process is still a leftover: that process holds
// no descriptor of it. Pid 1 stands for the unrelated process.
func TestStalePidReused(t *testing.T) {
	testutils.RequirePrivileged(t)
	_, hook, path := labHook(t)
	slotProgram(t, hook, capture.TX, "xdpcap_1")
	occ, err := capture.Inspect(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := occ.Stale(); len(st) != 1 || st[0].PID != 1 || st[0].Place != "hook slot tx" {
		t.Fatalf("stale holders %+v, want xdpcap_1 in slot tx", occ.Holders)
	}
	c, err := capture.Start(capture.Options{Hook: path})
	if err != nil {
		t.Fatalf("a capture refused a slot held by a leftover whose pid was reused: %v", err)
	}
	c.Close()
}

// TestClearStale: the slots of dead captures are emptied; a running
// capture's slot and another tool's stay as they are, and are named.
func TestClearStale(t *testing.T) {
	testutils.RequirePrivileged(t)
	_, hook, path := labHook(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	// The running capture first: starting, it would empty the dead one's.
	live, err := capture.Start(capture.Options{Hook: path, Actions: []capture.Action{capture.Pass}})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	slotProgram(t, hook, capture.TX, "xdpcap_"+strconv.Itoa(dead.Process.Pid))
	slotProgram(t, hook, capture.Aborted, "their_capture")

	occ, err := capture.Inspect(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(occ.Holders) != 3 || len(occ.Stale()) != 1 || len(occ.Live()) != 2 {
		t.Fatalf("holders %+v", occ.Holders)
	}
	for _, h := range occ.Live() {
		if h.Place == "hook slot pass" && (h.PID != os.Getpid() || h.Command == "") {
			t.Errorf("the running capture is %+v, want pid %d with its command line", h, os.Getpid())
		}
	}
	var notes []string
	n, err := capture.ClearStale(path, nil, func(s string) { notes = append(notes, s) })
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"emptied hook slot tx", "left hook slot pass alone", "a running capture's", "left hook slot aborted alone", "not a program of xdplab capture"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}
	if n != 1 || slotsHeld(t, hook) != 2 {
		t.Errorf("cleared %d, %d slots held; want 1 cleared and the two live ones held", n, slotsHeld(t, hook))
	}
	hook.Delete(uint32(capture.Aborted))
}

// BenchmarkCapture reports how many packets per second a capture takes from
// the lab program through the hook, the filter and the perf ring into the
// writer, with none lost. Its two stages run on different CPUs, so the
// slower one sets the rate; each is timed alone, per batch: the kernel's
// own time for the program with the capture in it (BPF_PROG_TEST_RUN,
// Repeat), then the reader's time to write the batch out, held back until
// the kernel is done. The test-run syscall's fixed cost (it restarts when
// the Go runtime's signals interrupt it) is left out.
func BenchmarkCapture(b *testing.B) {
	benchCapture(b, func(ctx context.Context, c *capture.Capture, handed func()) error {
		return c.Run(ctx, func(capture.Packet) error { handed(); return nil })
	})
}

// BenchmarkCaptureFile is BenchmarkCapture with the packets written to a
// pcapng file, as `capture -w FILE` writes them.
func BenchmarkCaptureFile(b *testing.B) {
	benchCapture(b, func(ctx context.Context, c *capture.Capture, handed func()) error {
		f, err := os.Create(filepath.Join(b.TempDir(), "bench.pcapng"))
		if err != nil {
			return err
		}
		defer f.Close()
		w, err := capture.NewPcapngWriter(f, c.Actions(), c.Filter(), false)
		if err != nil {
			return err
		}
		return c.RunTo(ctx, handedWriter{w, handed})
	})
}

// handedWriter counts the packets it writes through.
type handedWriter struct {
	*capture.PcapngWriter
	handed func()
}

func (w handedWriter) WritePacket(p capture.Packet) error {
	err := w.PcapngWriter.WritePacket(p)
	w.handed()
	return err
}

// benchCapture measures a capture whose packets run hands over; run calls
// handed once per packet, after it is written.
func benchCapture(b *testing.B, run func(ctx context.Context, c *capture.Capture, handed func()) error) {
	testutils.RequirePrivileged(b)
	prog, _, path := labHook(b)
	c, err := capture.Start(capture.Options{
		Hook: path, Actions: []capture.Action{capture.Drop}, Filter: "udp port 9",
		PerCPUBuffer: 8 << 20, Latency: time.Millisecond,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var written atomic.Uint64
	var gate sync.Mutex // held while the kernel runs a batch
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, c, func() {
			gate.Lock()
			gate.Unlock()
			written.Add(1)
		})
	}()
	frame := udp(b, 9, 18)
	const batch = 16384 // about 1.7 MB of samples: fits the 8 MiB ring
	var sent uint64
	var kernel, reader time.Duration
	for b.Loop() {
		gate.Lock()
		_, perRun, err := prog.Benchmark(frame, batch, nil)
		if err != nil {
			gate.Unlock()
			b.Fatal(err)
		}
		kernel += perRun * batch
		sent += batch
		t := time.Now()
		gate.Unlock()
		for written.Load() < sent {
			if time.Since(t) > 5*time.Second {
				st, _ := c.Stats()
				b.Fatalf("written %d of %d (lost %d)", written.Load(), sent, st[capture.Drop].Lost)
			}
			runtime.Gosched()
		}
		reader += time.Since(t)
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	st, err := c.Stats()
	if err != nil {
		b.Fatal(err)
	}
	if st[capture.Drop].Lost > 0 {
		b.Fatalf("lost %d packets", st[capture.Drop].Lost)
	}
	b.ReportMetric(float64(sent)/max(kernel, reader).Seconds(), "packets/s")
	b.ReportMetric(float64(kernel.Nanoseconds())/float64(sent), "ns/packet")
	b.ReportMetric(float64(reader.Nanoseconds())/float64(sent), "reader-ns/packet")
}

// ownedHook pins a fresh hook whose owner (the first program put in it) is
// spec's program; the owner is then taken out again, so every slot is free
// but the kernel still checks newcomers against it.
func ownedHook(t *testing.T, spec *ebpf.ProgramSpec) string {
	t.Helper()
	_, _, lab := labHook(t)
	hook, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer hook.Close()
	owner, err := ebpf.NewProgram(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if err := hook.Put(uint32(0), owner); err != nil {
		t.Fatal(err)
	}
	if err := hook.Delete(uint32(0)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(filepath.Dir(lab), "owned_hook")
	if err := hook.Pin(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// TestHookOwnerFrags: a hook owned by an xdp.frags program takes the
// capture programs built with the same flag (xdpcap's retry).
func TestHookOwnerFrags(t *testing.T) {
	testutils.RequirePrivileged(t)
	path := ownedHook(t, &ebpf.ProgramSpec{
		Type: ebpf.XDP, AttachType: ebpf.AttachXDP, License: "GPL", Flags: unix.BPF_F_XDP_HAS_FRAGS,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()},
	})
	c, err := capture.Start(capture.Options{Hook: path})
	if err != nil {
		t.Fatalf("capture on a hook owned by an xdp.frags program: %v", err)
	}
	c.Close()
}

// TestHookOwnerIncompatible: a hook owned by another program type cannot
// take XDP capture programs; the error explains the owner rule.
func TestHookOwnerIncompatible(t *testing.T) {
	testutils.RequirePrivileged(t)
	path := ownedHook(t, &ebpf.ProgramSpec{
		Type: ebpf.SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	_, err := capture.Start(capture.Options{Hook: path})
	if err == nil || !strings.Contains(err.Error(), "a tail-called program must match the program that first used the PROG_ARRAY: same type (XDP), same xdp.frags flag") {
		t.Fatalf("got %v, want the owner rule explained", err)
	}
	m, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n := slotsHeld(t, m); n != 0 {
		t.Errorf("a refused capture left %d slots held", n)
	}
}
