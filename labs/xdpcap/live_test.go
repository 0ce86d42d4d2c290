package xdpcap_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// BenchmarkCaptureLive captures UDP to port 9 (dropped by the lab program)
// on the lab's own veth while senders in the host namespace offer as much
// as they can for one second per iteration, with the command's default ring
// size. It reports the offered rate and how many matched packets were lost:
// the rate where loss starts, if this machine can reach it.
func BenchmarkCaptureLive(b *testing.B) {
	for _, senders := range []int{1, 2} {
		b.Run(map[int]string{1: "senders=1", 2: "senders=2"}[senders], func(b *testing.B) {
			testutils.RequirePrivileged(b)
			inst := testutils.Instance(b)
			r := &labs.Runner{Registry: course.Registry(), Instance: inst}
			ctx := context.Background()
			if err := r.Up(ctx, "xdpcap", labs.Options{}); err != nil {
				b.Fatal(err)
			}
			defer r.Down(ctx, "")
			_, env, err := r.Open("xdpcap")
			if err != nil {
				b.Fatal(err)
			}
			defer env.Topo.Close()
			c, err := capture.Start(capture.Options{
				Hook:    filepath.Join(r.PinDir("xdpcap"), "xdpcap_hook"),
				Actions: []capture.Action{capture.Drop},
				Filter:  "udp port 9",
			})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			rctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- c.Run(rctx, func(capture.Packet) error { return nil }) }()

			host := env.Topo.MustNS("host")
			dst := netip.MustParseAddrPort("192.168.0.2:9")
			var offered atomic.Uint64
			var elapsed time.Duration
			for b.Loop() {
				start := time.Now()
				deadline := start.Add(time.Second)
				var wg sync.WaitGroup
				for range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for time.Now().Before(deadline) {
							if err := traffic.UDP(ctx, host, dst, 2000, 18); err != nil {
								b.Error(err)
								return
							}
							offered.Add(2000)
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
			}
			time.Sleep(100 * time.Millisecond) // let the reader drain
			stop()
			<-done
			st, err := c.Stats()
			if err != nil {
				b.Fatal(err)
			}
			d := st[capture.Drop]
			b.ReportMetric(float64(offered.Load())/elapsed.Seconds(), "offered-pps")
			b.ReportMetric(float64(d.Matched), "matched")
			b.ReportMetric(float64(d.Lost), "lost")
		})
	}
}
