package testutils

import (
	"net"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// SpecialFile is a path that is not a regular file, with the words for its
// kind that an error refusing it uses ("is a " + Kind).
type SpecialFile struct {
	Path, Kind string
}

// SpecialFiles returns a FIFO, a listening unix socket, a character device
// and a directory: what a command that reads a file path must refuse without
// reading. The FIFO is the sharp one: opening it blocks until a writer comes.
// Their names end in .o so that no check by name lets them through.
func SpecialFiles(tb testing.TB) []SpecialFile {
	tb.Helper()
	dir := tb.TempDir()
	fifo := filepath.Join(dir, "fifo.o")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		tb.Fatal(err)
	}
	sock := filepath.Join(dir, "socket.o")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	sub := filepath.Join(dir, "dir.o")
	if err := unix.Mkdir(sub, 0o700); err != nil {
		tb.Fatal(err)
	}
	return []SpecialFile{
		{fifo, "FIFO (named pipe), not a regular file"},
		{sock, "socket, not a regular file"},
		{"/dev/null", "character device, not a regular file"},
		{sub, "directory"},
	}
}
