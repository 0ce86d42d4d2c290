package grade

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/xdplab/xdplab/internal/capture"
)

// PassProgram loads xdp_pass, an XDP program that returns XDP_PASS for
// every frame, as if no program ran: the stand-in a check swaps into a
// lab's link for a moment, and the program a veth peer needs for native
// XDP_TX or redirect. attach is its expected attach type: a bpf_link takes
// a new program only of the type of the one it runs (ebpf.AttachXDP, or
// ebpf.AttachNone for an object whose section name libbpf does not know).
func PassProgram(attach ebpf.AttachType) (*ebpf.Program, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "xdp_pass", Type: ebpf.XDP, AttachType: attach, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, int32(capture.Pass)), asm.Return()},
	})
	if err != nil {
		return nil, fmt.Errorf("load xdp_pass: %w", err)
	}
	return prog, nil
}
