package grade

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
)

// Arrival bounds every wait for traffic a check sent to show up where it
// was sent (a sink, a witness): waits end as soon as everything is there,
// so the bound costs time only when something is missing, which is then
// the evidence.
const Arrival = 2 * time.Second

// Quiet is how long a witness or an event ring must stay silent before a
// check takes it that nothing more is coming: the last ACK of a TCP close,
// or a reply that wrongly got through, may still be on its way when the
// sending call returns.
const Quiet = 250 * time.Millisecond

// Loopback is the lo interface of p's node, with 127.0.0.1: traffic that a
// node sends to itself.
func Loopback(p topology.Place) topology.Place {
	lo := p
	lo.Iface = "lo"
	lo.MAC = nil
	lo.Addr = netip.MustParsePrefix("127.0.0.1/8")
	return lo
}

// Pinged is what a Pings step saw.
type Pinged struct {
	From  topology.Place
	To    netip.Addr
	Count int // echo requests asked for
	traffic.PingResult
	// Failure says why pinging stopped before its end, when it did: the
	// kernel refused a send, say. It is evidence, not an environment fault.
	Failure error
}

// NotSentHint is the hint for the expectations of a Pings step that
// stopped before its end (Failure), or "" when it ran to its end. What was
// not sent never met the learner's program, so the hint blames neither the
// program nor its maps: it names the cause and how to build the lab again.
func (p Pinged) NotSentHint(env *labs.Env) string {
	if p.Failure == nil {
		return ""
	}
	return fmt.Sprintf("pinging from %s stopped before its end (%v), so your program never saw the rest: "+
		"the lab's network is not as up left it: %s", p.From.Node, p.Failure, env.RebuildFix())
}

// Pings sends n echo requests (sequence numbers 1..n) from from's node,
// with from's address as the source, to to and collects what comes back.
// The error is for a check that could not run (no raw socket) or was
// interrupted; a ping that went wrong is in the result.
func Pings(ctx context.Context, from topology.Place, to netip.Addr, n int) (Pinged, error) {
	p := Pinged{From: from, To: to, Count: n}
	opts := traffic.PingOptions{Count: n}
	if from.Addr.IsValid() {
		opts.Source = from.Addr.Addr()
	}
	res, err := traffic.Ping(ctx, from.NS, to, opts)
	if res != nil {
		p.PingResult = *res
	}
	switch {
	case ctx.Err() != nil:
		return p, ctx.Err()
	case err != nil && res == nil:
		return p, err
	}
	p.Failure = err
	return p, nil
}

// Delivered is what a Datagrams step saw.
type Delivered struct {
	From, To topology.Place
	Dst      netip.AddrPort
	Count    int // datagrams sent (or meant to be, when sending failed)
	Arrived  int // datagrams the sink received
	Bytes    int // payload bytes the sink received
	// Failure says why sending stopped before the end, when it did:
	// evidence, not an environment fault.
	Failure error
}

// String is "5 of 5 datagrams arrived", with the failure when there is one.
func (d Delivered) String() string {
	s := fmt.Sprintf("%d of %d datagrams arrived", d.Arrived, d.Count)
	if d.Failure != nil {
		s += fmt.Sprintf(" (sending failed: %v)", d.Failure)
	}
	return s
}

// Datagrams sends n UDP datagrams of size payload bytes from from's node
// to to's address and port, and waits up to Arrival for all of them at a
// sink on to's node, opened before the first is sent. Fewer arriving is a
// count in the result, not an error. The error is for a check that could
// not run, such as the port held by another socket (a
// *traffic.PortInUseError), or that was interrupted.
func Datagrams(ctx context.Context, from, to topology.Place, port, n, size int) (Delivered, error) {
	dst, err := addrPort(to, port)
	if err != nil {
		return Delivered{}, err
	}
	d := Delivered{From: from, To: to, Dst: dst, Count: n}
	sink, err := traffic.ListenUDP(to.NS, dst)
	if err != nil {
		return d, err
	}
	defer sink.Close()
	if err := traffic.UDP(ctx, from.NS, dst, n, size); err != nil {
		if ctx.Err() != nil {
			return d, ctx.Err()
		}
		d.Failure = err
	}
	wctx, cancel := context.WithTimeout(ctx, Arrival)
	sink.Wait(wctx, n) // a shortfall is the count below
	cancel()
	d.Arrived, d.Bytes = sink.Count(), sink.Bytes()
	return d, ctx.Err()
}

// Exchanged is what a TCPExchange step saw.
type Exchanged struct {
	Client, Server topology.Place
	Dst            netip.AddrPort
	Payload        []byte
	// TCPResult holds the connection's tuple (Local carries the client's
	// ephemeral port), the bytes sent and the reply.
	traffic.TCPResult
	// Accepted is how many connections the server accepted.
	Accepted int
	// Failure says why the exchange did not complete, when it did not:
	// evidence, not an environment fault.
	Failure error
}

// OK reports whether the connection was made and the payload came back.
func (e Exchanged) OK() bool { return e.Failure == nil && bytes.Equal(e.Reply, e.Payload) }

// String is "connected from 192.168.0.3:43910, 14 of 14 bytes echoed", or
// what went wrong.
func (e Exchanged) String() string {
	switch {
	case e.Failure != nil && !e.Local.IsValid():
		return fmt.Sprintf("no connection: %v", e.Failure)
	case e.Failure != nil:
		return fmt.Sprintf("connected from %s, then: %v", e.Local, e.Failure)
	case !bytes.Equal(e.Reply, e.Payload):
		return fmt.Sprintf("connected from %s, %d bytes sent, %d bytes came back, not the same", e.Local, e.Sent, len(e.Reply))
	}
	return fmt.Sprintf("connected from %s, %d of %d bytes echoed", e.Local, len(e.Reply), len(e.Payload))
}

// TCPExchange listens on server's address and port with an echo server,
// connects from client's node, sends payload, reads the echo until the
// server closes, and stops listening. A connection that fails is in the
// result. The error is for a check that could not run, such as the port
// held by another socket (a *traffic.PortInUseError), or that was
// interrupted.
func TCPExchange(ctx context.Context, client, server topology.Place, port int, payload []byte) (Exchanged, error) {
	dst, err := addrPort(server, port)
	if err != nil {
		return Exchanged{}, err
	}
	e := Exchanged{Client: client, Server: server, Dst: dst, Payload: payload}
	ln, err := traffic.ListenTCP(server.NS, dst)
	if err != nil {
		return e, err
	}
	res, err := traffic.TCPConnect(ctx, client.NS, dst, payload)
	ln.Close()
	e.Accepted = ln.Conns()
	if res != nil {
		e.TCPResult = *res
	}
	if ctx.Err() != nil {
		return e, ctx.Err()
	}
	e.Failure = err
	return e, nil
}

// addrPort is a place's address with a port; a place without an address
// cannot be sent to.
func addrPort(p topology.Place, port int) (netip.AddrPort, error) {
	if !p.Addr.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("%s/%s has no address to send to", p.Node, p.Iface)
	}
	if port < 1 || port > 0xffff {
		return netip.AddrPort{}, fmt.Errorf("port %d: want 1 to 65535", port)
	}
	return netip.AddrPortFrom(p.Addr.Addr(), uint16(port)), nil
}

// Written is what a Frames step saw.
type Written struct {
	From, To topology.Place
	// What names the frames for expectations: "3 ICMPv6 echo requests".
	What    string
	Count   int // frames written (or meant to be, when writing failed)
	Arrived int // frames seen at To past its XDP program
	// Missing are the indexes of the frames that did not arrive.
	Missing []int
	// Failure says why writing stopped before its end, when it did:
	// evidence, not an environment fault.
	Failure error
}

// String is "3 of 3 frames arrived", with the failure when there is one.
func (w Written) String() string {
	s := fmt.Sprintf("%d of %d frames arrived", w.Arrived, w.Count)
	if w.Failure != nil {
		s += fmt.Sprintf(" (writing failed: %v)", w.Failure)
	}
	return s
}

// Frames writes raw frames, each different from the others, out of from's
// interface, as the kernel would not send them (IPv6 is off in the lab's
// namespaces), and waits up to Arrival for each at to's interface. A packet
// socket there sees a frame only once XDP has passed it, so an arrived
// frame has been through the program, and every counter it moved has moved.
// The error is for a check that could not run or was interrupted.
func Frames(ctx context.Context, from, to topology.Place, what string, etherType uint16, frames [][]byte) (Written, error) {
	return writeFrames(ctx, from, to, what, etherType, frames, func(i int) error {
		return witness.Send(from.NS, from.Iface, etherType, frames[i])
	})
}

// writeFrames is Frames with send writing frame i.
func writeFrames(ctx context.Context, from, to topology.Place, what string, etherType uint16, frames [][]byte, send func(i int) error) (Written, error) {
	w := Written{From: from, To: to, What: what, Count: len(frames)}
	wit, err := witness.Open(to.NS, to.Iface, witness.Options{EtherType: etherType, Direction: witness.In})
	if err != nil {
		return w, err
	}
	defer wit.Close()
	for i := range frames {
		if err := send(i); err != nil {
			w.Failure = err
			break
		}
	}
	wctx, cancel := context.WithTimeout(ctx, Arrival)
	defer cancel()
	for i, f := range frames {
		_, seen, err := wit.Await(wctx, SameFrame(f))
		if err != nil {
			return w, err
		}
		if seen {
			w.Arrived++
		} else {
			w.Missing = append(w.Missing, i)
		}
	}
	return w, ctx.Err()
}
