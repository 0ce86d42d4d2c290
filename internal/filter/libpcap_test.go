package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/xdplab/xdplab/internal/testutils"
)

// The system's tcpdump is the witness here: it links libpcap the ordinary
// way, so it checks that calling libpcap through purego passes and returns
// every value as C would.

// writePcap writes a classic pcap file of Ethernet frames whose timestamp
// seconds are the frames' indexes, so the frames tcpdump keeps can be told
// apart whatever their bytes.
func writePcap(t *testing.T, snaplen int, frames [][]byte) string {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write(le.AppendUint32(nil, 0xa1b2c3d4))
	b.Write(le.AppendUint16(nil, 2))
	b.Write(le.AppendUint16(nil, 4))
	b.Write(make([]byte, 8)) // thiszone, sigfigs
	b.Write(le.AppendUint32(nil, uint32(snaplen)))
	b.Write(le.AppendUint32(nil, 1)) // LINKTYPE_ETHERNET
	for i, f := range frames {
		for _, v := range []uint32{uint32(i), 0, uint32(len(f)), uint32(len(f))} {
			b.Write(le.AppendUint32(nil, v))
		}
		b.Write(f)
	}
	path := filepath.Join(t.TempDir(), "frames.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tcpdumpCompile is `tcpdump -ddd -r FILE EXPR` on an empty file with that
// snaplen: the program tcpdump would run, or libpcap's error text.
func tcpdumpCompile(t *testing.T, file, expr string) ([]bpf.RawInstruction, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("tcpdump", "-ddd", "-r", file, expr)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		msg, ok := strings.CutPrefix(lines[len(lines)-1], "tcpdump: ")
		if !ok {
			t.Fatalf("tcpdump -ddd %q: %v\n%s", expr, err, stderr.String())
		}
		return nil, errors.New(msg)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var raw []bpf.RawInstruction
	for _, line := range lines[1:] {
		var v [4]uint64
		fields := strings.Fields(line)
		if len(fields) != 4 {
			t.Fatalf("tcpdump -ddd %q: line %q", expr, line)
		}
		for i, f := range fields {
			n, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				t.Fatalf("tcpdump -ddd %q: line %q: %v", expr, line, err)
			}
			v[i] = n
		}
		raw = append(raw, bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	if n, err := strconv.Atoi(lines[0]); err != nil || n != len(raw) {
		t.Fatalf("tcpdump -ddd %q: announces %q instructions, prints %d", expr, lines[0], len(raw))
	}
	return raw, nil
}

// tcpdumpKeeps is `tcpdump -r FILE -w - EXPR`: the indexes of the frames
// libpcap's own filter machine keeps.
func tcpdumpKeeps(t *testing.T, file, expr string) map[uint32]bool {
	t.Helper()
	out, err := exec.Command("tcpdump", "-r", file, "-w", "-", expr).Output()
	if err != nil {
		t.Fatalf("tcpdump -r %s -w - %q: %v", file, expr, err)
	}
	le := binary.LittleEndian
	if len(out) < 24 || le.Uint32(out) != 0xa1b2c3d4 {
		t.Fatalf("tcpdump -w - %q: not a little-endian pcap file", expr)
	}
	kept := map[uint32]bool{}
	for rec := out[24:]; len(rec) > 0; {
		if len(rec) < 16 {
			t.Fatalf("tcpdump -w - %q: truncated record", expr)
		}
		kept[le.Uint32(rec)] = true
		rec = rec[16+int(le.Uint32(rec[8:])):]
	}
	return kept
}

// TestCompileAsTcpdump: calling libpcap through purego gives the program
// (and the error text) tcpdump gives, instruction for instruction.
func TestCompileAsTcpdump(t *testing.T) {
	testutils.RequireTool(t, "tcpdump")
	exprs := append([]string{"tcp port notaport", "hst 1.2.3.4", "ether[0] / 0 == 1"}, filterCorpus...)
	for _, snaplen := range []int{DefaultSnaplen, 1500} {
		file := writePcap(t, snaplen, nil)
		for _, expr := range exprs {
			want, werr := tcpdumpCompile(t, file, expr)
			got, gerr := system.pcapCompile(expr, snaplen)
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Errorf("%q: error %v, tcpdump says %v", expr, gerr, werr)
				continue
			}
			if len(got) != len(want) {
				t.Errorf("%q: %d instructions, tcpdump has %d", expr, len(got), len(want))
				continue
			}
			for i, w := range want {
				if g := got[i]; g != w {
					t.Errorf("%q: instruction %d is %+v, tcpdump has %+v", expr, i, g, w)
				}
			}
		}
	}
}

// TestCompileNoNetmask: tcpdump -r compiles "ip broadcast" against netmask 0;
// a capture hook knows no netmask, so libpcap refuses it, in its own words.
func TestCompileNoNetmask(t *testing.T) {
	_, err := Compile("ip broadcast", 0)
	if !errors.Is(err, ErrBadFilter) || !strings.Contains(err.Error(), "netmask not known") {
		t.Fatalf(`Compile("ip broadcast") error %v, want libpcap's "netmask not known"`, err)
	}
}

// TestMatchAsTcpdump: Match is libpcap's bpf_filter, so it keeps what tcpdump
// -r keeps, for every filter of the corpus on every frame.
func TestMatchAsTcpdump(t *testing.T) {
	testutils.RequireTool(t, "tcpdump")
	var fs []frame
	var data [][]byte
	for _, f := range frames(t) {
		if len(f.data) == 0 {
			continue // a pcap record of no bytes is no packet to tcpdump; TestMatchRefuses covers it
		}
		fs = append(fs, f)
		data = append(data, f.data)
	}
	file := writePcap(t, DefaultSnaplen, data)
	for _, expr := range filterCorpus {
		insns, err := Compile(expr, 0)
		if err != nil {
			t.Fatal(err)
		}
		kept := tcpdumpKeeps(t, file, expr)
		for i, f := range fs {
			got, err := Match(insns, f.data)
			if err != nil {
				t.Fatalf("Match(%q, %s): %v", expr, f.name, err)
			}
			if want := kept[uint32(i)]; got != want {
				t.Errorf("Match(%q, %s) = %v, tcpdump -r keeps it: %v", expr, f.name, got, want)
			}
		}
	}
}

func TestMatchRefuses(t *testing.T) {
	for name, insns := range map[string][]bpf.Instruction{
		"empty":          nil,
		"jump past end":  {bpf.Jump{Skip: 5}, bpf.RetConstant{Val: 1}},
		"no last return": {bpf.LoadConstant{Dst: bpf.RegA, Val: 1}},
	} {
		if ok, err := Match(insns, []byte{1, 2, 3}); err == nil {
			t.Errorf("%s: Match = %v, want an error", name, ok)
		}
	}
	// An empty packet is a packet: "len < 64" keeps it, "ip" does not.
	for expr, want := range map[string]bool{"less 64": true, "ip": false, "": true} {
		insns, err := Compile(expr, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Match(insns, nil); err != nil || got != want {
			t.Errorf("Match(%q, empty packet) = %v, %v; want %v", expr, got, err, want)
		}
	}
}

// TestNoLibpcap: on a machine without libpcap, compiling a filter says what
// to install, is not a bad filter, and a later call says the same.
func TestNoLibpcap(t *testing.T) {
	saved := system
	t.Cleanup(func() { system = saved })
	system = &libpcap{names: []string{"libpcap-xdplab-absent.so.0"}}

	const want = "libpcap not found: capture filters need it, and none of libpcap-xdplab-absent.so.0 loads " +
		"(libpcap-xdplab-absent.so.0: cannot open shared object file: No such file or directory); " +
		"install libpcap: `sudo apt-get install libpcap0.8` (Debian, Ubuntu; libpcap0.8t64 since Debian 13 and Ubuntu 24.04) or `sudo dnf install libpcap` (Fedora)"
	for range 2 {
		_, err := Compile("icmp", 0)
		if err == nil || err.Error() != want {
			t.Fatalf("Compile with no libpcap: error %v\nwant %s", err, want)
		}
		if !errors.Is(err, ErrNoLibpcap) || errors.Is(err, ErrBadFilter) {
			t.Fatalf("error %v: want ErrNoLibpcap and not ErrBadFilter", err)
		}
	}
	if _, err := Match([]bpf.Instruction{bpf.RetConstant{Val: 1}}, []byte{1}); !errors.Is(err, ErrNoLibpcap) {
		t.Fatalf("Match with no libpcap: error %v, want ErrNoLibpcap", err)
	}
}
