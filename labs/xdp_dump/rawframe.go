package xdpdump

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs"
)

// ipv6SYN is an Ethernet frame with an IPv6 TCP SYN from host/veth0 to
// node1/veth1: what the program must not report, as it reports IPv4 only.
func ipv6SYN(env *labs.Env) ([]byte, error) {
	src, err := env.Topo.Endpoint("host", "veth0")
	if err != nil {
		return nil, err
	}
	dst, err := env.Topo.Endpoint("node1", "veth1")
	if err != nil {
		return nil, err
	}
	frame, err := packet.TCPFrame{
		SrcMAC: src.MAC, DstMAC: dst.MAC,
		Src: netip.AddrPortFrom(hostIPv6, 43910), Dst: ipv6Target,
		Flags: packet.TCPSyn, Seq: 1, Window: 64240,
	}.Bytes()
	if err != nil {
		return nil, fmt.Errorf("build ipv6 frame: %w", err)
	}
	return frame, nil
}

// sendIPv6SYN writes the IPv6 SYN on host/veth0 and reports whether it
// arrived on node1/veth1 past XDP.
func sendIPv6SYN(ctx context.Context, env *labs.Env) (bool, error) {
	frame, err := ipv6SYN(env)
	if err != nil {
		return false, err
	}
	w, err := listenFrames(env.Topo.MustNS("node1"), "veth1", unix.ETH_P_IPV6)
	if err != nil {
		return false, err
	}
	defer w.Close()
	if err := sendFrame(env.Topo.MustNS("host"), "veth0", unix.ETH_P_IPV6, frame); err != nil {
		return false, err
	}
	wctx, cancel := context.WithTimeout(ctx, arrival)
	defer cancel()
	return w.await(wctx, frame)
}

// htons turns an EtherType into the network byte order packet sockets take.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

func ifindex(ns *namespace.NS, iface string) (int, error) {
	l, err := ns.Netlink().LinkByName(iface)
	if err != nil {
		return 0, fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
	}
	return l.Attrs().Index, nil
}

// sendFrame writes one raw Ethernet frame out of iface in ns.
func sendFrame(ns *namespace.NS, iface string, ethertype uint16, frame []byte) error {
	idx, err := ifindex(ns, iface)
	if err != nil {
		return err
	}
	return ns.Do(func() error {
		// Protocol 0: this socket only sends, it never queues what arrives.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket in %s: %w", ns.Name, err)
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Ifindex: idx, Protocol: htons(ethertype), Halen: 6}
		copy(sa.Addr[:], frame[:6])
		if err := unix.Sendto(fd, frame, 0, sa); err != nil {
			return fmt.Errorf("send frame on %s/%s: %w", ns.Name, iface, err)
		}
		return nil
	})
}

// frameWitness is a packet socket that sees the frames of one EtherType
// arriving on an interface. Packet sockets are served after XDP, so a frame
// it sees has been through the program.
type frameWitness struct{ f *os.File }

func listenFrames(ns *namespace.NS, iface string, ethertype uint16) (*frameWitness, error) {
	idx, err := ifindex(ns, iface)
	if err != nil {
		return nil, err
	}
	var fd int
	err = ns.Do(func() error {
		// Created with protocol 0 and bound afterwards, so it only ever
		// hears iface, never the other interfaces of the namespace.
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("packet socket in %s: %w", ns.Name, err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: idx, Protocol: htons(ethertype)}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket to %s/%s: %w", ns.Name, iface, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A non-blocking fd in os.File gets the runtime poller and deadlines.
	return &frameWitness{f: os.NewFile(uintptr(fd), "packet:"+iface)}, nil
}

// await reports whether frame arrives before ctx ends.
func (w *frameWitness) await(ctx context.Context, frame []byte) (bool, error) {
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 65536)
	for {
		n, err := w.f.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if errors.Is(ctx.Err(), context.Canceled) {
				return false, ctx.Err()
			}
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read packet socket: %w", err)
		}
		if bytes.Equal(buf[:n], frame) {
			return true, nil
		}
	}
}

func (w *frameWitness) Close() error { return w.f.Close() }
