package witness

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
)

// SendOnCPU is Send from a thread bound to one CPU. A veth hands a frame to
// its peer on the CPU that sent it, so the peer's XDP program runs there: a
// check can make a program run on every CPU in turn, and see what it does
// with per-CPU state (a perf ring, a per-CPU map slot) on each.
func SendOnCPU(ns *namespace.NS, iface string, ethertype uint16, frame []byte, cpu int) error {
	if cpu < 0 {
		return fmt.Errorf("send frame on %s/%s from cpu %d: no such cpu", ns.Name, iface, cpu)
	}
	return send(ns, iface, ethertype, frame, cpu)
}

// CPUs lists the CPUs this process may run on, in order.
func CPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("read cpu affinity: %w", err)
	}
	var cpus []int
	for cpu := range len(set) * 64 {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	return cpus, nil
}

// bindCPU binds the calling thread, which the caller has locked, to cpu;
// sched_setaffinity moves it there before it returns. restore gives the
// thread its CPUs back, before it returns to the Go scheduler's pool.
func bindCPU(cpu int) (restore func() error, err error) {
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("read cpu affinity: %w", err)
	}
	if !old.IsSet(cpu) {
		return nil, fmt.Errorf("bind to cpu %d: not among the cpus this process may use", cpu)
	}
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return nil, fmt.Errorf("bind to cpu %d: %w", cpu, err)
	}
	return func() error {
		if err := unix.SchedSetaffinity(0, &old); err != nil {
			return fmt.Errorf("unbind from cpu %d: %w", cpu, err)
		}
		return nil
	}, nil
}
