package testutils

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
)

// Serialize builds a frame from gopacket layers with lengths and checksums
// filled in; TCP, UDP and ICMPv6 layers must have had
// SetNetworkLayerForChecksum called when ComputeChecksums needs it.
func Serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkPackets reports a program's ns/packet on one frame: the kernel's
// own per-repetition time from BPF_PROG_TEST_RUN, averaged over b's loop.
func BenchmarkPackets(b *testing.B, prog *ebpf.Program, frame []byte) {
	b.Helper()
	const repeat = 1_000_000
	var total float64
	for b.Loop() {
		_, d, err := prog.Benchmark(frame, repeat, nil)
		if err != nil {
			b.Fatal(err)
		}
		total += float64(d.Nanoseconds())
	}
	b.ReportMetric(total/float64(b.N), "ns/packet")
}
