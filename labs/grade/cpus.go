package grade

import (
	"context"

	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/topology"
)

// FramesOnCPUs is Frames with frame i written from a thread bound to
// cpus[i]: a veth's peer runs its XDP program on the CPU that sent, so each
// frame meets the program on the CPU chosen for it. It is how a check sees
// what a program does with per-CPU state, such as the ring that
// bpf_perf_event_output writes with BPF_F_CURRENT_CPU.
func FramesOnCPUs(ctx context.Context, from, to topology.Place, what string, etherType uint16, frames [][]byte, cpus []int) (Written, error) {
	return writeFrames(ctx, from, to, what, etherType, frames, func(i int) error {
		return witness.SendOnCPU(from.NS, from.Iface, etherType, frames[i], cpus[i])
	})
}

// CPUs lists the CPUs a check may send from: the ones this process may run
// on.
func CPUs() ([]int, error) { return witness.CPUs() }
