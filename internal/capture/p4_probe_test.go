package capture_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/xdplab/xdplab/internal/capture"
)

func TestProbeSpeed(t *testing.T) {
	prog, _, path := labHook(t)
	c, err := capture.Start(capture.Options{Hook: path, Actions: []capture.Action{capture.Drop}, Filter: "udp port 9", PerCPUBuffer: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var written atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(capture.Packet) error { written.Add(1); return nil }) }()
	frame := udp(t, 9, 18)
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		_, d, _ := prog.Benchmark(frame, 4096, nil)
		t1 := time.Now()
		for written.Load() < uint64(4096*(i+1)) {
			time.Sleep(10 * time.Microsecond)
		}
		t.Logf("prog %v/pkt (wall %v), drain %v", d, t1.Sub(t0), time.Since(t1))
	}
	cancel()
	<-done
	_ = ebpf.RunOptions{}
}
