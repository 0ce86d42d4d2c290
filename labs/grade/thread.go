package grade

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Thread is the OS thread a check acts from, so that what the kernel
// records of the acts (a trace line's task, a tracing program's
// bpf_get_current_pid_tgid() and bpf_get_current_comm()) is known.
type Thread struct {
	// TID is the thread's id: trace's TASK-PID column, the lower 32 bits
	// of bpf_get_current_pid_tgid(). It is never the process's.
	TID int
	// PID is the process's id, which all its threads share: the upper 32
	// bits.
	PID int
	// Comm is the thread's name (bpf_get_current_comm()).
	Comm string
}

// OnThread runs fn on an OS thread of its own, named comm (15 bytes at
// most), that nothing else runs on while fn runs and that ends with fn:
// every act of that thread is fn's, and the name, the namespace and the
// CPU fn gives it go with it. A tracing program sees every process of the
// machine, other learners' checks included; a thread's id and name are
// how a check tells its own acts from theirs.
func OnThread(comm string, fn func(Thread) error) error {
	if len(comm) > 15 {
		return fmt.Errorf("thread name %q: 15 bytes at most", comm)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The process's main thread, whose id is the process's: keep it
			// here, unchanged, and act from another one.
			inner := make(chan error, 1)
			go func() {
				runtime.LockOSThread() // never unlocked: the thread ends with it
				inner <- onThisThread(comm, fn)
			}()
			errc <- <-inner
			runtime.UnlockOSThread()
			return
		}
		// Never unlocked: the thread ends with this goroutine.
		errc <- onThisThread(comm, fn)
	}()
	return <-errc
}

func onThisThread(comm string, fn func(Thread) error) error {
	name := append([]byte(comm), 0)
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
		return fmt.Errorf("name the check's thread %s: %w", comm, err)
	}
	return fn(Thread{TID: unix.Gettid(), PID: unix.Getpid(), Comm: comm})
}

// RunOn moves the calling thread (OnThread's) to one CPU: what it does
// from then on runs there, and a tracing program that writes to the
// current CPU's ring or buffer writes there.
func RunOn(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("run the check's thread on CPU %d: %w", cpu, err)
	}
	return nil
}
