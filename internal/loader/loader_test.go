package loader

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

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
