package traffic

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/xdplab/xdplab/internal/namespace"
)

// UDP sends count datagrams of payloadLen bytes from inside ns to dst. The
// socket is unconnected and uses WriteTo: a connected UDP socket turns an ICMP
// port unreachable into ECONNREFUSED on its next send, and a lab that drops
// or refuses some datagrams must still send them all.
func UDP(ctx context.Context, ns *namespace.NS, dst netip.AddrPort, count, payloadLen int) error {
	addr, err := ipv4Only(dst.Addr())
	if err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	dst = netip.AddrPortFrom(addr, dst.Port())
	conn, err := inNS(ns, func() (*net.UDPConn, error) {
		return net.ListenUDP("udp4", nil)
	})
	if err != nil {
		return fmt.Errorf("udp socket in %s: %w", ns.Name, err)
	}
	defer conn.Close()
	payload := make([]byte, payloadLen)
	for i := range payload {
		payload[i] = byte(i)
	}
	for i := range count {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("udp to %s: sent %d of %d: %w", dst, i, count, err)
		}
		if _, err := conn.WriteToUDPAddrPort(payload, dst); err != nil {
			return fmt.Errorf("udp to %s from %s: sent %d of %d: %w", dst, ns.Name, i, count, err)
		}
	}
	return nil
}

// UDPSink counts the datagrams arriving on a UDP socket inside a namespace.
type UDPSink struct {
	conn *net.UDPConn
	got  *counter
	done chan struct{}
}

// ListenUDP binds addr inside ns (port 0 picks one) and counts what arrives
// until Close. A port some other socket holds fails with a *PortInUseError.
func ListenUDP(ns *namespace.NS, addr netip.AddrPort) (*UDPSink, error) {
	conn, err := inNS(ns, func() (*net.UDPConn, error) {
		return net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	})
	if err != nil {
		return nil, listenError(ns, "udp", addr, err)
	}
	s := &UDPSink{conn: conn, got: newCounter(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed
			}
			s.got.add(1, n)
		}
	}()
	return s, nil
}

// Addr is the bound address, with the port the kernel picked for port 0.
func (s *UDPSink) Addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Count is the number of datagrams received so far.
func (s *UDPSink) Count() int { n, _ := s.got.get(); return n }

// Bytes is the number of payload bytes received so far.
func (s *UDPSink) Bytes() int { _, b := s.got.get(); return b }

// Wait blocks until n datagrams have arrived or ctx ends.
func (s *UDPSink) Wait(ctx context.Context, n int) error {
	if err := s.got.wait(ctx, n); err != nil {
		return fmt.Errorf("udp sink %s: %w", s.Addr(), err)
	}
	return nil
}

// Close stops receiving; the counts stay readable.
func (s *UDPSink) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}
