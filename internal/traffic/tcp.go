package traffic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/xdplab/xdplab/internal/namespace"
)

// TCPListener is an echo server inside a namespace: it accepts connections in
// the background and sends every byte back, so a lab sees traffic both ways.
type TCPListener struct {
	ln    *net.TCPListener
	conns *counter // accepted connections and bytes received

	mu   sync.Mutex
	open map[net.Conn]struct{} // closed by Close so no handler outlives it
	wg   sync.WaitGroup
}

// ListenTCP listens on addr inside ns (port 0 picks one) until Close. A port
// some other socket holds fails with a *PortInUseError.
func ListenTCP(ns *namespace.NS, addr netip.AddrPort) (*TCPListener, error) {
	ln, err := inNS(ns, func() (*net.TCPListener, error) {
		return net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(addr))
	})
	if err != nil {
		return nil, listenError(ns, "tcp", addr, err)
	}
	l := &TCPListener{ln: ln, conns: newCounter(), open: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *TCPListener) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		l.mu.Lock()
		if l.open == nil { // Close ran meanwhile
			l.mu.Unlock()
			c.Close()
			return
		}
		l.open[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		l.conns.add(1, 0)
		go l.echo(c)
	}
}

func (l *TCPListener) echo(c net.Conn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.open, c)
		l.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 32*1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			l.conns.add(0, n)
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF: the client is done sending; closing ends its read
		}
	}
}

// Addr is the listening address, with the port the kernel picked for port 0.
func (l *TCPListener) Addr() netip.AddrPort { return l.ln.Addr().(*net.TCPAddr).AddrPort() }

// Conns is the number of connections accepted so far.
func (l *TCPListener) Conns() int { n, _ := l.conns.get(); return n }

// Bytes is the number of bytes received (and echoed) so far.
func (l *TCPListener) Bytes() int { _, b := l.conns.get(); return b }

// Close stops listening and closes open connections.
func (l *TCPListener) Close() error {
	err := l.ln.Close()
	l.mu.Lock()
	for c := range l.open {
		c.Close()
	}
	l.open = nil
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// TCPResult is what one TCPConnect did.
type TCPResult struct {
	Local, Remote netip.AddrPort // Local carries the ephemeral port the kernel chose
	Sent          int            // payload bytes written
	Reply         []byte         // bytes read back before EOF or the read timeout
}

// TCP timeouts: connecting covers a dropped SYN (the kernel would retry for
// minutes); replyTimeout ends the read when the peer neither answers nor
// closes, e.g. a server that is not an echo server.
const (
	connectTimeout = 3 * time.Second
	replyTimeout   = 500 * time.Millisecond
)

// TCPConnect connects from inside ns to dst, writes payload (if any), shuts
// down its sending side, reads whatever comes back until EOF or a short
// silence, and closes.
func TCPConnect(ctx context.Context, ns *namespace.NS, dst netip.AddrPort, payload []byte) (*TCPResult, error) {
	addr, err := ipv4Only(dst.Addr())
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	dst = netip.AddrPortFrom(addr, dst.Port())
	// Dial inside ns: the connecting socket is created on the namespaced thread.
	conn, err := inNS(ns, func() (*net.TCPConn, error) {
		d := net.Dialer{Timeout: connectTimeout}
		c, err := d.DialContext(ctx, "tcp4", dst.String())
		if err != nil {
			return nil, err
		}
		return c.(*net.TCPConn), nil
	})
	if err != nil {
		return nil, fmt.Errorf("tcp connect %s from %s: %w", dst, ns.Name, err)
	}
	defer conn.Close()
	res := &TCPResult{
		Local:  conn.LocalAddr().(*net.TCPAddr).AddrPort(),
		Remote: conn.RemoteAddr().(*net.TCPAddr).AddrPort(),
	}
	// An expired deadline unblocks a read or write when ctx ends.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	if len(payload) > 0 {
		n, err := conn.Write(payload)
		res.Sent = n
		if err != nil {
			return res, fmt.Errorf("tcp write to %s: %w", dst, errors.Join(ctx.Err(), err))
		}
	}
	if err := conn.CloseWrite(); err != nil {
		return res, fmt.Errorf("tcp shutdown to %s: %w", dst, err)
	}
	buf := make([]byte, 32*1024)
	for {
		conn.SetReadDeadline(time.Now().Add(replyTimeout))
		n, err := conn.Read(buf)
		res.Reply = append(res.Reply, buf[:n]...)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return res, nil
		case ctx.Err() != nil:
			return res, fmt.Errorf("tcp read from %s: %w", dst, ctx.Err())
		case errors.Is(err, os.ErrDeadlineExceeded):
			return res, nil // the peer went quiet without closing: fine
		default:
			return res, fmt.Errorf("tcp read from %s: %w", dst, err)
		}
	}
}
