package tracing

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// Image is where the machine code of one function of a loaded BPF program
// lies in the kernel: the JIT compiler puts every program, and each
// function a program calls, at an address of its own.
type Image struct {
	Start, Len uint64
}

// Contains reports whether addr is inside the image: a return address on a
// stack is, when the program called out from there.
func (i Image) Contains(addr uint64) bool { return addr >= i.Start && addr < i.Start+i.Len }

// ErrNoJIT marks a program that runs in the kernel's interpreter: its
// code has no address of its own, so no stack can be told to be its.
var ErrNoJIT = fmt.Errorf("the program is not JIT-compiled")

// Images are the code images of a loaded program.
func Images(prog *ebpf.Program) ([]Image, error) {
	info, err := prog.Info()
	if err != nil {
		return nil, fmt.Errorf("program info: %w", err)
	}
	addrs, _ := info.JitedKsymAddrs()
	lens, _ := info.JitedFuncLens()
	if len(addrs) == 0 || len(addrs) != len(lens) {
		return nil, fmt.Errorf("%w: the BPF JIT is off (sysctl net.core.bpf_jit_enable is 0); turn it on with `sudo sysctl -w net.core.bpf_jit_enable=1`", ErrNoJIT)
	}
	images := make([]Image, len(addrs))
	for i := range addrs {
		images[i] = Image{Start: uint64(addrs[i]), Len: uint64(lens[i])}
	}
	return images, nil
}

// RanIn reports whether the entry's recorded stack passes through one of
// the images: the program called what recorded the event (a
// bpf_trace_printk, say).
func (e Entry) RanIn(images []Image) bool {
	for _, a := range e.Stack {
		for _, im := range images {
			if im.Contains(a) {
				return true
			}
		}
	}
	return false
}
