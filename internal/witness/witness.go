// Package witness records the frames one interface of a namespace sends and receives through an AF_PACKET socket, and writes raw frames out of an interface.
package witness

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/packet"
)

// Direction says which frames of an interface a witness records.
type Direction int

const (
	// Both records what the interface receives and what it sends.
	Both Direction = iota
	// In records what the interface receives (after XDP passed it).
	In
	// Out records what the interface sends (PACKET_OUTGOING).
	Out
)

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return "both"
}

// Options choose what a witness records.
type Options struct {
	// EtherType keeps only frames whose Ethernet type field (after any VLAN
	// tag the kernel took off is put back) is this one; 0 keeps every frame.
	EtherType uint16
	// Direction keeps received frames, sent frames or both (the zero value).
	Direction Direction
	// Filter, when set, is a socket filter program attached to the socket
	// (SO_ATTACH_BPF) before it hears its first frame; the socket holds its
	// own reference, so the caller may close the program after Open.
	Filter *ebpf.Program
	// Buffer is the socket's receive buffer in bytes (SO_RCVBUFFORCE, which
	// root may set above net.core.rmem_max); 0 keeps the default.
	Buffer int
}

// Frame is one frame a witness recorded.
type Frame struct {
	// Out is true for a frame the interface sent (PACKET_OUTGOING).
	Out bool
	// At is when the witness read it.
	At time.Time
	// Len is the frame's length as the interface had it (skb->len), which
	// exceeds len(Data) when a socket filter or the read buffer cut it.
	Len int
	// Data is the frame's bytes as recorded.
	Data []byte
	// Packet is Data decoded.
	Packet packet.Frame
}

// String describes the frame in one line: "out 192.168.0.3 > 192.168.0.2:
// ICMP echo request, id 7, seq 1".
func (f Frame) String() string {
	dir := "in"
	if f.Out {
		dir = "out"
	}
	return dir + " " + f.Packet.Summary()
}

// Witness is an AF_PACKET socket bound to one interface.
type Witness struct {
	f     *os.File
	rc    syscall.RawConn
	where string
	opts  Options

	mu      sync.Mutex
	pending []Frame // recorded, not yet returned by Frames
	buf     []byte
	oob     []byte
}

// readBuffer holds the largest frame lo or a GSO veth hands a packet socket.
const readBuffer = 1<<16 + 64

// Open starts recording frames of iface inside ns. The socket is created
// with protocol 0, so it hears nothing until bind names the interface (and
// until the filter, if any, is attached): no frame of another interface, and
// no frame the filter did not see, slips in. It binds to every EtherType,
// because frames an interface sends reach only the sockets bound to all of
// them, and leaves EtherType and Direction to the reading side.
func Open(ns *namespace.NS, iface string, opts Options) (*Witness, error) {
	where := ns.Name + "/" + iface
	idx, err := ifindex(ns, iface)
	if err != nil {
		return nil, err
	}
	fd := -1
	err = ns.Do(func() error {
		// The socket belongs to the namespace of the thread that creates it.
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("packet socket in %s: %w", ns.Name, err)
		}
		// Aux data carries the frame's length before any filter cut it,
		// and the VLAN tag the kernel took off.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return fmt.Errorf("packet socket on %s: PACKET_AUXDATA: %w", where, err)
		}
		if opts.Filter != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, opts.Filter.FD()); err != nil {
				return fmt.Errorf("attach socket filter to the packet socket on %s (SO_ATTACH_BPF): %w", where, err)
			}
		}
		if opts.Buffer > 0 {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, opts.Buffer); err != nil {
				return fmt.Errorf("packet socket on %s: receive buffer of %d bytes: %w", where, opts.Buffer, err)
			}
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx}); err != nil {
			return fmt.Errorf("bind packet socket to %s: %w", where, err)
		}
		return nil
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, err
	}
	// A non-blocking fd in an os.File gets the runtime poller and deadlines.
	f := os.NewFile(uintptr(fd), "packet:"+where)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("packet socket on %s: %w", where, err)
	}
	return &Witness{
		f: f, rc: rc, where: where, opts: opts,
		buf: make([]byte, readBuffer), oob: make([]byte, unix.CmsgSpace(auxdataLen)),
	}, nil
}

// Frames returns the frames recorded since the last call, reading until
// quiet has passed with nothing new: frames still in flight when the
// traffic ended (a late reply) are caught by the wait. A witness whose
// socket dropped frames for want of buffer returns an error, since its
// record is incomplete.
func (w *Witness) Frames(quiet time.Duration) ([]Frame, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		// What is queued already is read even when quiet is 0.
		_, _, err := w.read(false)
		if errors.Is(err, unix.EAGAIN) {
			w.f.SetReadDeadline(time.Now().Add(quiet))
			_, _, err = w.read(true)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return w.take(), err
		}
	}
	// Through the raw conn: File.Fd would make the socket blocking.
	var stats *unix.TpacketStats
	var serr error
	err := w.rc.Control(func(fd uintptr) {
		stats, serr = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	})
	if err = errors.Join(err, serr); err != nil {
		return w.take(), fmt.Errorf("packet socket on %s: statistics: %w", w.where, err)
	}
	if stats.Drops > 0 {
		return w.take(), fmt.Errorf("the witness on %s dropped %d frames for want of buffer: its record is incomplete", w.where, stats.Drops)
	}
	return w.take(), nil
}

func (w *Witness) take() []Frame {
	out := w.pending
	w.pending = nil
	return out
}

// Await waits for a frame that match accepts, among the frames recorded
// since the last call of Frames and those that arrive before ctx ends. It
// reports false, with no error, when ctx's deadline passes first; a
// cancelled ctx is an error.
func (w *Witness) Await(ctx context.Context, match func(Frame) bool) (Frame, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.pending {
		if match(f) {
			return f, true, nil
		}
	}
	w.f.SetReadDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		f, ok, err := w.read(true)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return Frame{}, false, nil
			}
			return Frame{}, false, fmt.Errorf("witness on %s: %w", w.where, ctx.Err())
		}
		if err != nil {
			return Frame{}, false, err
		}
		if ok && match(f) {
			return f, true, nil
		}
	}
}

// read reads one frame and records it, unless the options leave it out
// (then ok is false). With wait, it waits for one until the read deadline
// (os.ErrDeadlineExceeded); without, it returns unix.EAGAIN when none is
// queued.
func (w *Witness) read(wait bool) (_ Frame, ok bool, _ error) {
	var n, oobn int
	var from unix.Sockaddr
	var rerr error
	recv := func(fd uintptr) {
		n, oobn, _, from, rerr = unix.Recvmsg(int(fd), w.buf, w.oob, unix.MSG_TRUNC)
	}
	var err error
	if wait {
		err = w.rc.Read(func(fd uintptr) bool { recv(fd); return rerr != unix.EAGAIN })
	} else {
		err = w.rc.Control(recv)
	}
	if err == nil {
		err = rerr
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, unix.EAGAIN) {
			return Frame{}, false, err
		}
		return Frame{}, false, fmt.Errorf("read packet socket on %s: %w", w.where, err)
	}
	f := Frame{At: time.Now(), Len: n}
	if ll, ok := from.(*unix.SockaddrLinklayer); ok {
		f.Out = ll.Pkttype == unix.PACKET_OUTGOING
	}
	if (w.opts.Direction == In && f.Out) || (w.opts.Direction == Out && !f.Out) {
		return Frame{}, false, nil
	}
	data := w.buf[:min(n, len(w.buf))]
	if aux, ok := auxdata(w.oob[:oobn]); ok {
		f.Len = int(aux.Len)
		data = withVLAN(data, aux)
	} else {
		data = append([]byte(nil), data...)
	}
	if w.opts.EtherType != 0 && (len(data) < 14 || binary.BigEndian.Uint16(data[12:14]) != w.opts.EtherType) {
		return Frame{}, false, nil
	}
	f.Data = data
	f.Packet = packet.Decode(data)
	w.pending = append(w.pending, f)
	return f, true, nil
}

// auxdataLen is the size of struct tpacket_auxdata.
const auxdataLen = 20

// auxdata finds the PACKET_AUXDATA message among the control messages.
func auxdata(oob []byte) (unix.TpacketAuxdata, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return unix.TpacketAuxdata{}, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < auxdataLen {
			continue
		}
		b, ne := m.Data, binary.NativeEndian
		return unix.TpacketAuxdata{
			Status: ne.Uint32(b[0:]), Len: ne.Uint32(b[4:]), Snaplen: ne.Uint32(b[8:]),
			Mac: ne.Uint16(b[12:]), Net: ne.Uint16(b[14:]), Vlan_tci: ne.Uint16(b[16:]), Vlan_tpid: ne.Uint16(b[18:]),
		}, true
	}
	return unix.TpacketAuxdata{}, false
}

// withVLAN copies a frame, putting back the VLAN tag the kernel moved into
// the skb's metadata (as libpcap does), so the frame reads as it was on the
// wire.
func withVLAN(data []byte, aux unix.TpacketAuxdata) []byte {
	if aux.Status&unix.TP_STATUS_VLAN_VALID == 0 || len(data) < 12 {
		return append([]byte(nil), data...)
	}
	tpid := uint16(packet.EtherTypeDot1Q)
	if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
		tpid = aux.Vlan_tpid
	}
	out := make([]byte, 0, len(data)+4)
	out = append(out, data[:12]...)
	out = binary.BigEndian.AppendUint16(out, tpid)
	out = binary.BigEndian.AppendUint16(out, aux.Vlan_tci)
	return append(out, data[12:]...)
}

// Close stops recording.
func (w *Witness) Close() error { return w.f.Close() }

// Collect waits on several witnesses side by side for the same quiet
// period and returns each one's frames, in the order given.
func Collect(quiet time.Duration, ws ...*Witness) ([][]Frame, error) {
	out := make([][]Frame, len(ws))
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() { out[i], errs[i] = w.Frames(quiet) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Send writes one raw Ethernet frame out of iface inside ns, as if the
// namespace's stack had sent it; ethertype is the frame's type, which the
// socket address carries.
func Send(ns *namespace.NS, iface string, ethertype uint16, frame []byte) error {
	return send(ns, iface, ethertype, frame, -1)
}

// send is Send, from a thread bound to cpu when cpu is not -1.
func send(ns *namespace.NS, iface string, ethertype uint16, frame []byte, cpu int) error {
	if len(frame) < 14 {
		return fmt.Errorf("send frame on %s/%s: %d bytes is shorter than an Ethernet header", ns.Name, iface, len(frame))
	}
	idx, err := ifindex(ns, iface)
	if err != nil {
		return err
	}
	return ns.Do(func() (err error) {
		if cpu >= 0 {
			restore, err := bindCPU(cpu)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, restore()) }()
		}
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

func ifindex(ns *namespace.NS, iface string) (int, error) {
	l, err := ns.Netlink().LinkByName(iface)
	if err != nil {
		return 0, fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
	}
	return l.Attrs().Index, nil
}

// htons turns a protocol number into the network byte order that packet
// socket addresses carry.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
