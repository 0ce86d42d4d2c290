package loader

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/testutils"
)

func TestCheckSaysWhatIsExpected(t *testing.T) {
	spec := &ebpf.CollectionSpec{
		Programs: map[string]*ebpf.ProgramSpec{"count": {Type: ebpf.XDP}, "packet_count": {Type: ebpf.SocketFilter}},
		Maps:     map[string]*ebpf.MapSpec{"protocols": {Type: ebpf.Array, KeySize: 4, ValueSize: 8}},
	}
	want := Want{
		Programs: map[string]ebpf.ProgramType{"packet_count": ebpf.XDP},
		Maps:     map[string]MapShape{"protocols": {Type: ebpf.PerCPUArray}, "matches": {Type: ebpf.PerCPUArray}},
	}
	err := Check(spec, want)
	for _, s := range []string{
		`program "packet_count" is of type SocketFilter, the lab expects XDP`,
		`map "protocols" is of type Array, the lab expects PerCPUArray`,
		`no map named "matches" (have: protocols)`,
	} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("Check error %v lacks %q", err, s)
		}
	}
	spec.Maps["protocols"].Type = ebpf.PerCPUArray
	spec.Maps["protocols"].ValueSize = 4
	err = Check(spec, Want{Maps: map[string]MapShape{"protocols": {Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8}}})
	if err == nil || !strings.Contains(err.Error(), "4-byte values, the lab expects 8") {
		t.Errorf("value size: %v", err)
	}
}

// BenchmarkProgramFloor is the cost of an XDP program that only returns
// XDP_PASS: the floor the lab programs' ns/packet compare against.
func BenchmarkProgramFloor(b *testing.B) {
	testutils.RequirePrivileged(b)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.XDP,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	testutils.BenchmarkPackets(b, prog, make([]byte, 64))
}

// TestSpecFromFileRefusesNonRegular: a FIFO would block the open forever (and
// Ctrl-C with it), a directory or device is no object; each is named for what
// it is, promptly.
func TestSpecFromFileRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.o")
	if err := os.WriteFile(text, []byte("not an object\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type testCase struct{ path, want string }
	var cases []testCase
	var fifo string
	for _, f := range testutils.SpecialFiles(t) {
		cases = append(cases, testCase{f.Path, "--obj " + f.Path + " is a " + f.Kind})
		if f.Kind == "FIFO (named pipe), not a regular file" {
			fifo = f.Path
			// A symlink is followed: what it points to is judged.
			link := filepath.Join(dir, "link.o")
			if err := os.Symlink(fifo, link); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, testCase{link, "--obj " + link + " is a " + f.Kind})
		}
	}
	cases = append(cases, testCase{text, "is not an ELF file"}, testCase{filepath.Join(dir, "missing.o"), "no such file or directory"})
	for _, tc := range cases {
		done := make(chan error, 1)
		go func() {
			_, err := SpecFromFile(tc.path, Want{})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SpecFromFile(%s) = %v, want an error containing %q", tc.path, err, tc.want)
			}
			if tc.want != "no such file or directory" && !errors.Is(err, ErrBadObject) {
				t.Errorf("SpecFromFile(%s): %v is not ErrBadObject", tc.path, err)
			}
		case <-time.After(5 * time.Second): // a liveness bound, not a timing
			// Unblock the stuck open so the test binary can end.
			if w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			t.Fatalf("SpecFromFile(%s) still blocked after 5s", tc.path)
		}
	}
}
