package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/net/bpf"

	"github.com/xdplab/xdplab/internal/testutils"
)

// filterCorpus is what learners type after "xdplab capture", plus
// expressions chosen for the instructions they compile to: arithmetic with
// scratch memory, indexed loads with computed offsets, division by a value
// the packet can make zero.
var filterCorpus = []string{
	"",
	"icmp",
	"udp port 9",
	"tcp[tcpflags] & tcp-syn != 0",
	"greater 90",
	"less 64",
	"host 192.168.0.2",
	"net 192.168.0.0/24",
	"src port 8888",
	"ip proto 17",
	"vlan",
	"vlan 100 and udp port 9",
	"arp",
	"ether host 02:00:00:00:00:01",
	"ether src 02:00:00:00:00:02",
	"ip[8] > 63",
	"tcp[13] & 2 != 0",
	"ip6",
	"ip6 and tcp dst port 80",
	"icmp6",
	"udp and not port 53",
	"portrange 1000-2000",
	"icmp[icmptype] == icmp-echo",
	"icmp[icmptype] == icmp-echoreply",
	"len >= 100",
	"ether broadcast",
	"ether multicast",
	"ip multicast",
	"(tcp or udp) and dst port 80",
	"tcp dst port 80 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
	"src host 192.168.0.3 and dst host 192.168.0.2",
	"not ip",
	"ip[6:2] & 0x1fff != 0",
	"ip[6] & 0x20 != 0",
	"ip[0] & 0xf > 5",
	"ip[2:2] - ((ip[0] & 0xf) << 2) > 40",
	"tcp[((tcp[12] & 0xf0) >> 2):4] = 0x00010203",
	"udp[8:4] == 0x00010203",
	"ip[8] * 3 == 192",
	"ip[8] / 2 == 32",
	"ip[8] % 7 == 1",
	"ip[8] ^ 0xff == 0xbf",
	"ip[8] >> 1 == 32 and ip[8] << 30 == 0",
	"ip[8] / (ip[9] - 17) == 0",
	"ip[8] % (ip[9] - 6) == 9",
	"ether[len - 1] == 55 or ether[len - 2] == 0xff",
	"ip[ip[0] & 0xf] != 0",
	"tcp port 8888 or udp port 9 or icmp",
	"ip host 10.0.0.1 or arp",
	"ether proto 0x0806",
	"ip and len < 60",
	"udp[2:2] > 1000 and udp[2:2] < 2001",
}

func TestCompileEmptyMatchesEverything(t *testing.T) {
	insns, err := Compile("", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []bpf.Instruction{bpf.RetConstant{Val: DefaultSnaplen}}
	if len(insns) != 1 || insns[0] != want[0] {
		t.Fatalf("Compile(\"\") = %v, want %v", insns, want)
	}

	insns, err = Compile("  ", 1500)
	if err != nil {
		t.Fatal(err)
	}
	if len(insns) != 1 || insns[0] != (bpf.RetConstant{Val: 1500}) {
		t.Fatalf("Compile(\"  \", 1500) = %v, want ret #1500", insns)
	}
}

func TestCompileBadFilter(t *testing.T) {
	for expr, msg := range map[string]string{
		"tcp port notaport": `compile filter "tcp port notaport": unknown port 'notaport'`,
		"hst 1.2.3.4":       `compile filter "hst 1.2.3.4": can't parse filter expression: syntax error`,
		"ether[0] / 0 == 1": `compile filter "ether[0] / 0 == 1": division by zero`,
	} {
		insns, err := Compile(expr, 0)
		if err == nil {
			t.Errorf("Compile(%q) = %v, want an error", expr, insns)
			continue
		}
		if !errors.Is(err, ErrBadFilter) {
			t.Errorf("Compile(%q) error %v is not ErrBadFilter", expr, err)
		}
		// The exact text is libpcap's, which may reword it between
		// releases; the parts we add and the gist must be there.
		if err.Error() != msg && !strings.HasPrefix(err.Error(), `compile filter "`+expr+`": `) {
			t.Errorf("Compile(%q) error %q, want %q", expr, err, msg)
		}
		if err.Error() != msg {
			t.Logf("libpcap worded it differently: %q (expected %q)", err, msg)
		}
	}
}

func TestCompileCorpus(t *testing.T) {
	for _, expr := range filterCorpus {
		insns, err := Compile(expr, 0)
		if err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
			continue
		}
		if _, err := bpf.NewVM(insns); err != nil {
			t.Errorf("Compile(%q) gives a program x/net/bpf refuses: %v", expr, err)
		}
		if _, err := Translate(insns, Options{ResultLabel: "out"}); err != nil {
			t.Errorf("Translate(Compile(%q)): %v", expr, err)
		}
	}
}

func TestTranslateRefuses(t *testing.T) {
	ret := bpf.RetConstant{Val: 1}
	for name, insns := range map[string][]bpf.Instruction{
		"empty":               nil,
		"no final return":     {bpf.LoadConstant{Dst: bpf.RegA, Val: 1}},
		"jump past end":       {bpf.Jump{Skip: 1}, ret},
		"jump to end":         {bpf.JumpIf{Cond: bpf.JumpEqual, SkipTrue: 0, SkipFalse: 1}, ret},
		"jump x past end":     {bpf.JumpIfX{Cond: bpf.JumpEqual, SkipTrue: 3}, ret},
		"scratch 16":          {bpf.LoadScratch{Dst: bpf.RegA, N: 16}, ret},
		"store scratch -1":    {bpf.StoreScratch{Src: bpf.RegA, N: -1}, ret},
		"load size 3":         {bpf.LoadAbsolute{Off: 0, Size: 3}, ret},
		"ancillary proto":     {bpf.LoadExtension{Num: bpf.ExtProto}, ret},
		"unknown raw opcode":  {bpf.RawInstruction{Op: 0xff}, ret},
		"ldx abs (A-only)":    {bpf.RawInstruction{Op: 0x21}, ret},
		"ends with a jump":    {ret, bpf.Jump{Skip: 0}},
		"unknown alu op":      {bpf.ALUOpConstant{Op: 0xf0, Val: 1}, ret},
		"unknown alu op x":    {bpf.ALUOpX{Op: 0xf0}, ret},
		"unknown condition":   {bpf.JumpIf{Cond: 99}, ret},
		"unknown condition x": {bpf.JumpIfX{Cond: 99}, ret},
	} {
		if _, err := Translate(insns, Options{ResultLabel: "out"}); !errors.Is(err, ErrInvalidProgram) {
			t.Errorf("%s: Translate(%v) error = %v, want ErrInvalidProgram", name, insns, err)
		}
	}
}

func TestTranslateOptions(t *testing.T) {
	prog := []bpf.Instruction{bpf.RetConstant{Val: 1}}
	for _, opts := range []Options{
		{},
		{ResultLabel: "out", StackOffset: -8},
		{ResultLabel: "out", StackOffset: 4},
		{ResultLabel: "out", StackOffset: 512 - StackSize + 8},
		{ResultLabel: "filter_reject"},
		{ResultLabel: "filter_3_big"},
		{ResultLabel: "x_1", LabelPrefix: "x"},
	} {
		if _, err := Translate(prog, opts); err == nil {
			t.Errorf("Translate with %+v succeeded", opts)
		}
	}
	if _, err := Translate(prog, Options{ResultLabel: "out", StackOffset: 512 - StackSize}); err != nil {
		t.Errorf("largest stack offset: %v", err)
	}
	if _, err := Translate(prog, Options{ResultLabel: "filter_result"}); err != nil {
		t.Errorf("result label filter_result: %v", err)
	}
	// A program whose translation no 16-bit jump offset can span.
	huge := append(repeat(bpf.LoadIndirect{Off: 1, Size: 4}, 4000), bpf.RetA{})
	if _, err := Translate(huge, Options{ResultLabel: "out"}); !errors.Is(err, ErrInvalidProgram) {
		t.Errorf("huge program: error %v, want ErrInvalidProgram", err)
	}
}

// TestFiltersMatchVM is the differential test: every corpus filter on every
// corpus frame, in the kernel and in the VM, value for value.
func TestFiltersMatchVM(t *testing.T) {
	testutils.RequirePrivileged(t)
	fs := frames(t)

	runs, vmOnly, mismatches := 0, 0, 0
	for _, expr := range filterCorpus {
		insns, err := Compile(expr, 0)
		if err != nil {
			t.Fatal(err)
		}
		prog := loadHarness(t, insns)
		matched := 0
		for _, f := range fs {
			want, err := reference(insns, f.data)
			if err != nil {
				t.Errorf("filter %q, frame %q: %v", expr, f.name, err)
				continue
			}
			if want != 0 {
				matched++
			}
			if len(f.data) < minKernelFrame {
				vmOnly++
				continue
			}
			got, err := kernelRun(prog, f.data)
			if err != nil {
				t.Fatalf("filter %q, frame %q: %v", expr, f.name, err)
			}
			runs++
			if got != want {
				mismatches++
				t.Errorf("filter %q, frame %q (%d bytes): kernel returns %#x, VM %#x\n%v",
					expr, f.name, len(f.data), got, want, insns)
			}
		}
		t.Logf("%-70q matches %2d of %d frames (VM)", expr, matched, len(fs))
	}
	t.Logf("%d filters x %d frames: %d kernel runs, %d VM-only (frames < %d bytes), %d mismatches",
		len(filterCorpus), len(fs), runs, vmOnly, minKernelFrame, mismatches)
}

// TestProgramSpec checks the pass/drop wrapper on a matching and a
// non-matching frame.
func TestProgramSpec(t *testing.T) {
	testutils.RequirePrivileged(t)
	insns, err := Compile("udp port 9", 0)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ProgramSpec(insns)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		t.Fatalf("%+v", err)
	}
	defer prog.Close()

	for _, f := range frames(t) {
		if len(f.data) < minKernelFrame {
			continue
		}
		want := uint32(xdpDrop)
		if v, _ := reference(insns, f.data); v != 0 {
			want = xdpPass
		}
		got, err := kernelRun(prog, f.data)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("frame %q: action %d, want %d", f.name, got, want)
		}
	}
}

// BenchmarkFilter measures translated filters in the kernel (JIT-compiled,
// harness included) on a TCP SYN. ns/packet is the kernel's own average
// from BPF_PROG_TEST_RUN with repeat; ns/op is wall time and includes the
// syscall.
func BenchmarkFilter(b *testing.B) {
	testutils.RequirePrivileged(b)
	for _, c := range []struct{ name, expr string }{
		{"udp_port_9", "udp port 9"},
		{"tcp_syn", "tcp[tcpflags] & tcp-syn != 0"},
		{"http_get", "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420"},
	} {
		b.Run(c.name, func(b *testing.B) {
			insns, err := Compile(c.expr, 0)
			if err != nil {
				b.Fatal(err)
			}
			prog := loadHarness(b, insns)
			pkt := frameNamed(b, frames(b), "tcp syn 8888") // every load of these filters runs
			// One test run with b.N repeats rather than b.N test runs: a
			// test run with repeat > 1 toggles a static key around the
			// loop, which costs milliseconds of wall time per call.
			b.ResetTimer()
			_, per, err := prog.Benchmark(pkt, b.N, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(per.Nanoseconds()), "ns/packet")
		})
	}
}
