// Package filekind names file types the way ls and stat(1) do, for errors
// that refuse a path which is not a regular file.
package filekind

import "os"

// Of names the type of a file that is not regular: "FIFO (named pipe)",
// "socket", "character device", "block device", "directory".
func Of(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "FIFO (named pipe)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "block device"
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file"
}
