package sockex1

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
)

// htons turns an EtherType into the network byte order packet sockets take.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openLoSocket opens a packet socket on lo inside ns for every EtherType,
// with prog (if any) attached before the socket hears its first packet:
// created with protocol 0 it receives nothing, and only bind with ETH_P_ALL
// hooks it into lo. (The sample binds first and attaches after, so for an
// instant its socket queues unfiltered packets; harmless there, avoidable
// here.)
func openLoSocket(ns *namespace.NS, prog *ebpf.Program, rcvbuf int) (int, error) {
	lo, err := ns.Netlink().LinkByName("lo")
	if err != nil {
		return -1, fmt.Errorf("find lo in %s: %w", ns.Name, err)
	}
	idx := lo.Attrs().Index
	fd := -1
	err = ns.Do(func() error {
		// The socket belongs to the namespace of the thread that creates it.
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("packet socket in %s: %w", ns.Name, err)
		}
		if prog != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, prog.FD()); err != nil {
				return fmt.Errorf("attach %s to the packet socket (SO_ATTACH_BPF): %w", progName, err)
			}
		}
		if rcvbuf > 0 {
			// FORCE: above net.core.rmem_max, which root may do.
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf); err != nil {
				return fmt.Errorf("packet socket buffer: %w", err)
			}
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: idx, Protocol: htons(unix.ETH_P_ALL)}); err != nil {
			return fmt.Errorf("bind packet socket to lo in %s: %w", ns.Name, err)
		}
		return nil
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, err
	}
	return fd, nil
}

// attachFilter opens the socket that runs the pinned bpf_prog1 on node1's lo
// for as long as it is open: a socket filter lives and dies with its socket.
func attachFilter(ns *namespace.NS, progPath string) (int, error) {
	prog, err := ebpf.LoadPinnedProgram(progPath, nil)
	if err != nil {
		return -1, fmt.Errorf("open pinned program %s: %w", progName, err)
	}
	// The socket holds its own reference once attached.
	defer prog.Close()
	return openLoSocket(ns, prog, 0)
}

// loWitness is a plain packet socket on lo: an independent view of what
// left lo, to compare the filter's byte counts with.
type loWitness struct{ fd int }

func openWitness(ns *namespace.NS) (*loWitness, error) {
	fd, err := openLoSocket(ns, nil, 4<<20)
	if err != nil {
		return nil, err
	}
	return &loWitness{fd: fd}, nil
}

// drain reads until lo has been silent for quiet and returns, per IP
// protocol, the bytes of the frames that left lo (skb->len, as the filter
// sees it). A witness that dropped frames for want of buffer is an error, not
// a smaller count.
func (w *loWitness) drain(quiet time.Duration) (map[uint32]uint64, error) {
	out := map[uint32]uint64{}
	buf := make([]byte, 64) // MSG_TRUNC reports the full length anyway
	for {
		n, from, err := unix.Recvfrom(w.fd, buf, unix.MSG_TRUNC)
		if errors.Is(err, unix.EAGAIN) {
			ready, perr := unix.Poll([]unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}, int(quiet.Milliseconds()))
			if perr != nil && !errors.Is(perr, unix.EINTR) {
				return nil, fmt.Errorf("poll packet socket: %w", perr)
			}
			if ready == 0 {
				break
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read packet socket: %w", err)
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok || ll.Pkttype != unix.PACKET_OUTGOING || n < protoOffset+1 {
			continue
		}
		out[uint32(buf[protoOffset])] += uint64(n)
	}
	stats, err := unix.GetsockoptTpacketStats(w.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return nil, fmt.Errorf("packet socket statistics: %w", err)
	}
	if stats.Drops > 0 {
		return nil, fmt.Errorf("the witness socket on lo dropped %d frames: its counts are incomplete", stats.Drops)
	}
	return out, nil
}

func (w *loWitness) Close() error { return unix.Close(w.fd) }

// protoOffset is where the filter reads the protocol: ETH_HLEN +
// offsetof(struct iphdr, protocol).
const protoOffset = 14 + 9
