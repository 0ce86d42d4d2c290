package namespace

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// OwnName is how messages name the namespace xdplab itself runs in.
const OwnName = "the machine's own namespace"

// OpenOwn opens the network namespace xdplab itself runs in, which is the
// machine's own (root) namespace when xdplab is started from a shell on
// the machine, to look at its interfaces: nothing of xdplab's is ever made
// or changed there, and a check may show that (its lo runs none of a
// lab's programs). It is read through a thread of this goroutine's own:
// the process's main thread may be inside a lab's namespace for a moment
// (Do runs on any thread).
func OpenOwn() (*NS, error) {
	runtime.LockOSThread()
	// A thread Do could not switch back is thrown away, never reused: a
	// locked thread is in the namespace the process started in.
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", OwnName, err)
	}
	return openFd(OwnName, fd)
}
