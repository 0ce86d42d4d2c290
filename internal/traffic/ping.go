package traffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
)

// PingOptions tune Ping; the zero value pings once like ping(8) would.
type PingOptions struct {
	Count    int           // echo requests to send; default 1
	Payload  int           // echo data bytes; default 56, so the IP packet is 84 bytes and the frame 98, as with ping(8)
	Interval time.Duration // between requests; default 20ms: fast, yet one request at a time like a real ping
	Timeout  time.Duration // how long to wait for replies after the last request; default 1s
	ID       int           // echo identifier; 0 picks a random one so concurrent pings do not mix
	Seq      int           // sequence number of the first request; default 1 (a long-running ping goes on where the last call ended)
	Source   netip.Addr    // optional source address to bind
}

// Defaults for PingOptions.
const (
	DefaultPayload  = 56
	DefaultInterval = 20 * time.Millisecond
	DefaultTimeout  = time.Second
)

func (o PingOptions) withDefaults() PingOptions {
	if o.Count <= 0 {
		o.Count = 1
	}
	if o.Payload <= 0 {
		o.Payload = DefaultPayload
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Seq <= 0 {
		o.Seq = 1
	}
	if o.ID <= 0 {
		o.ID = 1 + rand.IntN(0xffff)
	}
	o.ID &= 0xffff
	return o
}

// Echo is one ICMP message received during a ping that concerns it.
type Echo struct {
	From, To   netip.Addr    // IP source and destination
	Type       ipv4.ICMPType // echo reply, echo request, or an error such as destination unreachable
	Code       int           // ICMP code; tells the kinds of unreachable apart
	ID, Seq    int           // of the echo, or of the quoted echo request for an error
	Len        int           // IP packet length in bytes (84 for a default reply)
	PayloadLen int           // echo data bytes (56 for a default reply); 0 for errors
	TTL        int           // IP TTL as received
	At         time.Time     // when it was read
}

// PingResult is what a ping saw.
type PingResult struct {
	Dst      netip.Addr
	ID       int
	Sent     int // echo requests sent, including Errors
	Errors   int // requests the kernel refused to send because the host is unreachable
	Received int // distinct sequence numbers answered by Dst
	// Replies are the first echo reply from Dst for each sequence number, in
	// arrival order; RTTs[i] is the round-trip time of Replies[i].
	Replies []Echo
	RTTs    []time.Duration
	// Requests are echo requests with our ID sent back to us, e.g. reflected by
	// an XDP program with source and destination swapped. Our own requests to a
	// local address, seen on loopback, are not included.
	Requests []Echo
	// Other holds duplicate replies, replies with our ID from another address,
	// and ICMP errors (unreachable, time exceeded) quoting one of our requests.
	Other   []Echo
	Elapsed time.Duration
}

// Loss is the fraction of sent requests that got no reply.
func (r *PingResult) Loss() float64 {
	if r.Sent == 0 {
		return 0
	}
	return 1 - float64(r.Received)/float64(r.Sent)
}

// Ping sends opts.Count ICMP echo requests with sequence numbers Seq..Seq+Count-1 from
// inside ns to dst over a raw socket, and collects what comes back. It returns
// as soon as every request is answered, or opts.Timeout after the last
// request. When ctx ends first, it returns what it saw with ctx's error.
func Ping(ctx context.Context, ns *namespace.NS, dst netip.Addr, opts PingOptions) (*PingResult, error) {
	dst, err := ipv4Only(dst)
	if err != nil {
		return nil, fmt.Errorf("ping: %w", err)
	}
	opts = opts.withDefaults()
	last := opts.Seq + opts.Count - 1
	if last > 0xffff {
		return nil, fmt.Errorf("ping %s: sequence numbers %d to %d: they are 16 bits", dst, opts.Seq, last)
	}
	bind := "0.0.0.0"
	if opts.Source.IsValid() {
		bind = opts.Source.String()
	}
	conn, err := inNS(ns, func() (*net.IPConn, error) {
		c, err := net.ListenPacket("ip4:icmp", bind)
		if err != nil {
			return nil, err
		}
		return c.(*net.IPConn), nil
	})
	if err != nil {
		return nil, fmt.Errorf("ping %s: raw icmp socket in %s: %w", dst, ns.Name, err)
	}

	// A raw socket sees every ICMP packet of the namespace; a reader
	// goroutine hands them to the loop below, which alone owns the result.
	type packet struct {
		b  []byte
		at time.Time
	}
	packets := make(chan packet, 64)
	readErr := make(chan error, 1)
	quit := make(chan struct{})
	readerDone := make(chan struct{})
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping %s: %w", dst, err)
	}
	go func() {
		defer close(readerDone)
		for {
			buf := make([]byte, 65536)
			n, err := readRaw(rc, buf)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case packets <- packet{buf[:n], time.Now()}:
			case <-quit:
				return
			}
		}
	}()
	defer func() {
		close(quit)
		conn.Close() // wakes the reader
		<-readerDone
	}()

	p := &pinger{res: &PingResult{Dst: dst, ID: opts.ID}, sentAt: make(map[int]time.Time, opts.Count)}
	start := time.Now()
	defer func() { p.res.Elapsed = time.Since(start) }()
	payload := make([]byte, opts.Payload)
	for i := range payload {
		payload[i] = byte(i) // ping(8)'s fill pattern
	}

	next := time.NewTimer(0)
	defer next.Stop()
	var waitDone <-chan time.Time
	seq := opts.Seq - 1
	for {
		select {
		case <-ctx.Done():
			return p.res, fmt.Errorf("ping %s: %w", dst, ctx.Err())
		case <-next.C:
			seq++
			if err := p.send(conn, dst, opts.ID, seq, payload); err != nil {
				return p.res, fmt.Errorf("ping %s from %s: %w", dst, ns.Name, err)
			}
			if seq < last {
				next.Reset(opts.Interval)
			} else {
				waitDone = time.After(opts.Timeout)
			}
		case pkt := <-packets:
			p.handle(pkt.b, pkt.at)
			if seq == last && p.res.Received == opts.Count {
				return p.res, nil
			}
		case <-waitDone:
			return p.res, nil
		case err := <-readErr:
			return p.res, fmt.Errorf("ping %s: read: %w", dst, err)
		}
	}
}

// readRaw reads one packet with its IP header, which net.IPConn would strip:
// the header holds the exact length and TTL a check wants to see.
func readRaw(rc syscall.RawConn, buf []byte) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		n, rerr = unix.Read(int(fd), buf)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

type pinger struct {
	res    *PingResult
	sentAt map[int]time.Time // by sequence number
}

func (p *pinger) send(conn *net.IPConn, dst netip.Addr, id, seq int, payload []byte) error {
	msg := icmp.Message{
		Type: ipv4.ICMPTypeEcho,
		Body: &icmp.Echo{ID: id, Seq: seq, Data: payload},
	}
	b, err := msg.Marshal(nil) // computes the checksum; the kernel does not for raw IPv4
	if err != nil {
		return err
	}
	p.sentAt[seq] = time.Now()
	p.res.Sent++
	_, err = conn.WriteToIP(b, &net.IPAddr{IP: dst.AsSlice()})
	// A failed neighbour lookup is lost traffic, as ping(8) counts it
	// ("+1 errors"), not a reason to stop; anything else is.
	if errors.Is(err, unix.EHOSTUNREACH) || errors.Is(err, unix.EHOSTDOWN) {
		p.res.Errors++
		return nil
	}
	return err
}

// handle sorts one received packet into the result; packets that do not
// concern this ping (other IDs, other protocols' errors) are ignored.
func (p *pinger) handle(b []byte, at time.Time) {
	h, err := ipv4.ParseHeader(b)
	if err != nil || h.Protocol != 1 || len(b) < h.Len+8 {
		return
	}
	m := b[h.Len:]
	e := Echo{
		Type: ipv4.ICMPType(m[0]),
		Code: int(m[1]),
		Len:  len(b),
		TTL:  h.TTL,
		At:   at,
	}
	e.From, _ = netip.AddrFromSlice(h.Src.To4())
	e.To, _ = netip.AddrFromSlice(h.Dst.To4())
	res := p.res

	switch e.Type {
	case ipv4.ICMPTypeEchoReply, ipv4.ICMPTypeEcho:
		e.ID, e.Seq = echoIDSeq(m)
		e.PayloadLen = len(m) - 8
		if e.ID != res.ID {
			return
		}
		if e.Type == ipv4.ICMPTypeEcho {
			// Our own request to a local address loops back to this socket
			// too; only requests not addressed to Dst came back to us.
			if e.To != res.Dst {
				res.Requests = append(res.Requests, e)
			}
			return
		}
		if e.From == res.Dst && !p.sentAt[e.Seq].IsZero() && !p.answered(e.Seq) {
			res.Received++
			res.Replies = append(res.Replies, e)
			res.RTTs = append(res.RTTs, at.Sub(p.sentAt[e.Seq]))
			return
		}
		res.Other = append(res.Other, e)
	case ipv4.ICMPTypeDestinationUnreachable, ipv4.ICMPTypeTimeExceeded, ipv4.ICMPTypeParameterProblem:
		// The error quotes the IP header and first 8 bytes of the packet
		// it is about; keep it when that was one of our echo requests.
		q, err := ipv4.ParseHeader(m[8:])
		if err != nil || q.Protocol != 1 || len(m) < 8+q.Len+8 {
			return
		}
		inner := m[8+q.Len:]
		if ipv4.ICMPType(inner[0]) != ipv4.ICMPTypeEcho {
			return
		}
		e.ID, e.Seq = echoIDSeq(inner)
		if qdst, _ := netip.AddrFromSlice(q.Dst.To4()); e.ID == res.ID && qdst == res.Dst {
			res.Other = append(res.Other, e)
		}
	}
}

func (p *pinger) answered(seq int) bool {
	for _, r := range p.res.Replies {
		if r.Seq == seq {
			return true
		}
	}
	return false
}

// echoIDSeq reads identifier and sequence number from an echo message.
func echoIDSeq(m []byte) (id, seq int) {
	return int(binary.BigEndian.Uint16(m[4:6])), int(binary.BigEndian.Uint16(m[6:8]))
}
