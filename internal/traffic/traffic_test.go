package traffic_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/topology"
	"github.com/xdplab/xdplab/topology/topotest"
)

var (
	hostAddr  = netip.MustParseAddr("192.168.0.3")
	node1Addr = netip.MustParseAddr("192.168.0.2")
)

// deployPair deploys the pair topology for one test and removes it after.
func deployPair(t *testing.T) *topology.Deployed {
	t.Helper()
	return topotest.Deploy(t, topology.Pair(), "traffic")
}

func TestLive(t *testing.T) {
	d := deployPair(t)
	host, node1 := d.MustNS("host"), d.MustNS("node1")
	ctx := t.Context()

	t.Run("PingPeer", func(t *testing.T) {
		// A timeout no machine reaches by accident: returning before it
		// shows Ping stops once every reply is in (no timing assertion).
		const longTimeout = 30 * time.Second
		res, err := traffic.Ping(ctx, host, node1Addr, traffic.PingOptions{Count: 3, Timeout: longTimeout})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 3 || res.Received != 3 || len(res.Replies) != 3 || len(res.RTTs) != 3 {
			t.Fatalf("sent %d received %d replies %+v, want 3 of 3", res.Sent, res.Received, res.Replies)
		}
		for i, e := range res.Replies {
			if e.From != node1Addr || e.ID != res.ID || e.Seq != i+1 || e.Len != 84 || e.PayloadLen != 56 || e.TTL != 64 {
				t.Errorf("reply %d: %+v, want seq %d from %s, 84-byte IP packet, ttl 64", i, e, i+1, node1Addr)
			}
		}
		if len(res.Requests) != 0 || len(res.Other) != 0 {
			t.Errorf("unexpected requests %+v other %+v", res.Requests, res.Other)
		}
		if res.Elapsed >= longTimeout {
			t.Errorf("took %v: waited for the timeout although every reply was in", res.Elapsed)
		}
	})

	t.Run("PingFromSeq", func(t *testing.T) {
		// A ping that goes on where an earlier call ended, as watch's
		// one-a-second ping does: its sequence numbers go on too.
		res, err := traffic.Ping(ctx, host, node1Addr, traffic.PingOptions{Count: 2, Seq: 65534, ID: 77})
		if err != nil {
			t.Fatal(err)
		}
		if res.Received != 2 || res.Replies[0].Seq != 65534 || res.Replies[1].Seq != 65535 || res.Replies[0].ID != 77 {
			t.Fatalf("replies %+v, want seq 65534 and 65535 of id 77", res.Replies)
		}
		if _, err := traffic.Ping(ctx, host, node1Addr, traffic.PingOptions{Count: 3, Seq: 65534}); err == nil ||
			!strings.Contains(err.Error(), "sequence numbers 65534 to 65536: they are 16 bits") {
			t.Errorf("a ping past seq 65535: %v", err)
		}
	})

	t.Run("PingLoopback", func(t *testing.T) {
		res, err := traffic.Ping(ctx, node1, netip.MustParseAddr("127.0.0.1"), traffic.PingOptions{Count: 3, Payload: 100})
		if err != nil {
			t.Fatal(err)
		}
		if res.Received != 3 {
			t.Fatalf("received %d of 3: %+v", res.Received, res)
		}
		if res.Replies[0].Len != 128 {
			t.Errorf("reply length %d, want 20+8+100", res.Replies[0].Len)
		}
		// Our own requests pass through this socket on lo; they are not
		// "requests sent back to us".
		if len(res.Requests) != 0 {
			t.Errorf("requests %+v, want none", res.Requests)
		}
	})

	t.Run("PingUnreachable", func(t *testing.T) {
		timeout := 300 * time.Millisecond
		res, err := traffic.Ping(ctx, host, netip.MustParseAddr("192.168.0.99"),
			traffic.PingOptions{Count: 3, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 3 || res.Received != 0 {
			t.Errorf("sent %d received %d, want 3 and 0", res.Sent, res.Received)
		}
		// It waits out the timeout for the missing replies (a lower bound
		// only: a loaded machine may take longer, never shorter).
		if res.Elapsed < timeout {
			t.Errorf("took %v, want at least the %v timeout", res.Elapsed, timeout)
		}
	})

	// An echo request with our ID coming back to us (what the redirect lab's
	// reflection produces) is recorded. Here node1 sends it, with the same ID,
	// while the host pings an address that never answers.
	t.Run("PingSeesRequestsWithOurID", func(t *testing.T) {
		const id = 31337
		done := make(chan error, 1)
		go func() {
			time.Sleep(100 * time.Millisecond)
			_, err := traffic.Ping(ctx, node1, hostAddr, traffic.PingOptions{Count: 1, ID: id})
			done <- err
		}()
		res, err := traffic.Ping(ctx, host, netip.MustParseAddr("192.168.0.98"),
			traffic.PingOptions{Count: 1, ID: id, Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(res.Requests) != 1 {
			t.Fatalf("requests %+v, want one", res.Requests)
		}
		if e := res.Requests[0]; e.From != node1Addr || e.To != hostAddr || e.ID != id || e.Seq != 1 || e.Len != 84 {
			t.Errorf("request %+v, want id %d seq 1 from %s", e, id, node1Addr)
		}
	})

	t.Run("UDP", func(t *testing.T) {
		sink, err := traffic.ListenUDP(node1, netip.AddrPortFrom(node1Addr, 9999))
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		if err := traffic.UDP(ctx, host, sink.Addr(), 5, 64); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := sink.Wait(wctx, 5); err != nil {
			t.Fatal(err)
		}
		if sink.Count() != 5 || sink.Bytes() != 5*64 {
			t.Errorf("sink got %d datagrams, %d bytes; want 5, 320", sink.Count(), sink.Bytes())
		}
	})

	// Port unreachables must not turn later sends into ECONNREFUSED.
	t.Run("UDPToClosedPort", func(t *testing.T) {
		to := netip.AddrPortFrom(node1Addr, 9)
		for range 3 {
			if err := traffic.UDP(ctx, host, to, 3, 16); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("TCP", func(t *testing.T) {
		ln, err := traffic.ListenTCP(node1, netip.AddrPortFrom(node1Addr, 8888))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		res, err := traffic.TCPConnect(ctx, host, ln.Addr(), []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Local.Addr() != hostAddr || res.Local.Port() == 0 || res.Remote != ln.Addr() {
			t.Errorf("tuple %s -> %s, want %s:<ephemeral> -> %s", res.Local, res.Remote, hostAddr, ln.Addr())
		}
		if res.Sent != 5 || string(res.Reply) != "hello" {
			t.Errorf("sent %d, reply %q; want 5 and the echo", res.Sent, res.Reply)
		}
		if ln.Conns() != 1 || ln.Bytes() != 5 {
			t.Errorf("listener saw %d conns, %d bytes; want 1, 5", ln.Conns(), ln.Bytes())
		}
	})

	t.Run("PortInUse", func(t *testing.T) {
		comm, err := os.ReadFile("/proc/self/comm")
		if err != nil {
			t.Fatal(err)
		}
		me := fmt.Sprintf("pid %d (%s)", os.Getpid(), strings.TrimSpace(string(comm)))
		target := netip.AddrPortFrom(node1Addr, 8888)
		for _, tc := range []struct {
			proto string
			hold  netip.AddrPort // what the first socket binds
		}{
			{"tcp", target},
			{"tcp", netip.AddrPortFrom(netip.IPv4Unspecified(), 8888)}, // the wildcard clashes too
			{"udp", target},
		} {
			t.Run(tc.proto+" "+tc.hold.String(), func(t *testing.T) {
				listen := func(a netip.AddrPort) (io.Closer, error) {
					if tc.proto == "tcp" {
						return traffic.ListenTCP(node1, a)
					}
					return traffic.ListenUDP(node1, a)
				}
				first, err := listen(tc.hold)
				if err != nil {
					t.Fatal(err)
				}
				defer first.Close()
				second, err := listen(target)
				if err == nil {
					second.Close()
					t.Fatal("second listen on a taken port succeeded")
				}
				var pe *traffic.PortInUseError
				if !errors.As(err, &pe) || !errors.Is(err, traffic.ErrPortInUse) || !errors.Is(err, syscall.EADDRINUSE) {
					t.Fatalf("error %v (%T) is not a PortInUseError wrapping EADDRINUSE", err, err)
				}
				want := fmt.Sprintf("%s port 8888 in netns %s is taken by %s: stop it and re-run", tc.proto, node1.Name, me)
				if err.Error() != want {
					t.Errorf("error %q\nwant  %q", err, want)
				}
			})
		}
	})

	t.Run("TCPRefused", func(t *testing.T) {
		_, err := traffic.TCPConnect(ctx, host, netip.AddrPortFrom(node1Addr, 8889), nil)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("connect to a closed port: %v, want connection refused", err)
		}
	})

	t.Run("RunPing", func(t *testing.T) {
		var out bytes.Buffer
		if err := traffic.Run(ctx, host, "ping", "192.168.0.2", 3, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"PING 192.168.0.2 56(84) bytes of data.",
			"64 bytes from 192.168.0.2: icmp_seq=1 ttl=64 time=",
			"64 bytes from 192.168.0.2: icmp_seq=3 ttl=64 time=",
			"3 packets transmitted, 3 received, 0% packet loss, time ",
			"rtt min/avg/max/mdev = ",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("RunPingNoReply", func(t *testing.T) {
		var out bytes.Buffer
		err := traffic.Run(ctx, node1, "ping", "192.168.0.97", 1, &out)
		if !errors.Is(err, traffic.ErrNoReply) {
			t.Errorf("err = %v, want ErrNoReply", err)
		}
		if !strings.Contains(out.String(), "1 packets transmitted, 0 received, 100% packet loss") {
			t.Errorf("output:\n%s", out.String())
		}
	})

	t.Run("RunTCPAndUDP", func(t *testing.T) {
		ln, err := traffic.ListenTCP(node1, netip.MustParseAddrPort("0.0.0.0:8888"))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var out bytes.Buffer
		if err := traffic.Run(ctx, host, "tcp", "192.168.0.2:8888", 2, &out); err != nil {
			t.Fatal(err)
		}
		if err := traffic.Run(ctx, host, "udp", "192.168.0.2:9", traffic.DefaultCount, &out); err != nil {
			t.Fatal(err)
		}
		if ln.Conns() != 2 {
			t.Errorf("listener saw %d conns, want 2", ln.Conns())
		}
		for _, want := range []string{
			" -> 192.168.0.2:8888: connected, sent 7 bytes, received 7 bytes",
			"sent 3 UDP datagrams of 32 bytes to 192.168.0.2:9",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
}
