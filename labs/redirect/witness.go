package redirect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
)

// sniffer records the ICMP frames an interface sends and receives, through
// an AF_PACKET socket: a witness that does not depend on the lab's program
// or on who the packets are addressed to.
type sniffer struct {
	fd    int
	where string
}

// frame is one ICMP frame a sniffer saw.
type frame struct {
	Out      bool // sent by the interface (PACKET_OUTGOING)
	Src, Dst netip.Addr
	Type     uint8 // ICMP type: 8 echo request, 0 echo reply
	ID, Seq  uint16
}

func (f frame) String() string {
	dir := "in "
	if f.Out {
		dir = "out"
	}
	kind := fmt.Sprintf("icmp type %d", f.Type)
	switch f.Type {
	case 0:
		kind = "echo reply"
	case 8:
		kind = "echo request"
	}
	return fmt.Sprintf("%s %s > %s %s id %d seq %d", dir, f.Src, f.Dst, kind, f.ID, f.Seq)
}

// sniff starts recording on iface inside ns. The socket is opened with
// protocol 0, so it receives nothing until bind names the interface: no
// frame of another interface slips in.
func sniff(ns *namespace.NS, iface string) (*sniffer, error) {
	l, err := ns.Netlink().LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
	}
	s := &sniffer{fd: -1, where: ns.Name + "/" + iface}
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return err
		}
		all := htons(unix.ETH_P_ALL)
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: all, Ifindex: l.Attrs().Index}); err != nil {
			unix.Close(fd)
			return err
		}
		s.fd = fd
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packet socket on %s: %w", s.where, err)
	}
	return s, nil
}

// collect reads what arrived, waiting until quiet passes with nothing new,
// and closes the socket. Frames still in flight when the traffic ended (a
// reply node2 sends late) are caught by the wait.
func (s *sniffer) collect(quiet time.Duration) ([]frame, error) {
	defer unix.Close(s.fd)
	var frames []frame
	buf := make([]byte, 2048)
	for {
		n, from, err := unix.Recvfrom(s.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) {
			pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
			ready, err := unix.Poll(pfd, int(quiet.Milliseconds()))
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return frames, fmt.Errorf("poll %s: %w", s.where, err)
			}
			if ready == 0 {
				return frames, nil
			}
			continue
		}
		if err != nil {
			return frames, fmt.Errorf("read %s: %w", s.where, err)
		}
		out := false
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			out = ll.Pkttype == unix.PACKET_OUTGOING
		}
		if f, ok := parseICMP(buf[:n]); ok {
			f.Out = out
			frames = append(frames, f)
		}
	}
}

// parseICMP decodes an Ethernet frame carrying IPv4 ICMP.
func parseICMP(b []byte) (frame, bool) {
	const eth = 14
	if len(b) < eth+20 || binary.BigEndian.Uint16(b[12:14]) != unix.ETH_P_IP {
		return frame{}, false
	}
	ip := b[eth:]
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || len(ip) < ihl+8 || ip[9] != unix.IPPROTO_ICMP {
		return frame{}, false
	}
	icmp := ip[ihl:]
	return frame{
		Src:  netip.AddrFrom4([4]byte(ip[12:16])),
		Dst:  netip.AddrFrom4([4]byte(ip[16:20])),
		Type: icmp[0],
		ID:   binary.BigEndian.Uint16(icmp[4:6]),
		Seq:  binary.BigEndian.Uint16(icmp[6:8]),
	}, true
}

// htons is the protocol number in network byte order, as bind wants it.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
