package loader

import (
	"errors"
	"net"
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
	fifo := filepath.Join(dir, "prog.o")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock.o")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	text := filepath.Join(dir, "text.o")
	if err := os.WriteFile(text, []byte("not an object\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	linkToFIFO := filepath.Join(dir, "link.o")
	if err := os.Symlink(fifo, linkToFIFO); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "--obj " + fifo + " is a FIFO (named pipe), not a regular file"},
		{linkToFIFO, "--obj " + linkToFIFO + " is a FIFO (named pipe), not a regular file"},
		{dir, "--obj " + dir + " is a directory"},
		{"/dev/null", "--obj /dev/null is a character device, not a regular file"},
		{sock, "--obj " + sock + " is a socket, not a regular file"},
		{text, "is not an ELF file"},
		{filepath.Join(dir, "missing.o"), "no such file or directory"},
	} {
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
		case <-time.After(5 * time.Second):
			// Unblock the stuck open so the test binary can end.
			if w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			t.Fatalf("SpecFromFile(%s) still blocked after 5s", tc.path)
		}
	}
}
