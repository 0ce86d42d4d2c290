package redirect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
)

// Ports the check sends to: UDP's discard port, and a TCP echo server's.
const (
	udpPort = 9
	tcpPort = 8888
	// udpProbePort is the source port of the datagrams the check writes
	// itself.
	udpProbePort = 40009
)

// udpProbePayload is the payload of a datagram the check writes itself in
// one phase: it tells that datagram apart wherever it turns up.
func udpProbePayload(phase string) []byte {
	return []byte(fmt.Sprintf("xdplab redirect %-8s", phase))
}

// carries reports whether a frame is a UDP datagram with this payload.
func carries(f witness.Frame, payload []byte) bool {
	return f.Packet.Has(packet.LayerUDP) && bytes.Equal(f.Packet.UDP.Payload, payload)
}

// datagram builds a UDP frame from from's address and udpProbePort to the
// receiver's udpPort, as from would send it into via.
func (c *checker) datagram(from, via, to topology.Place, payload []byte) ([]byte, error) {
	f, err := packet.UDPFrame{SrcMAC: from.MAC, DstMAC: via.MAC,
		Src: netip.AddrPortFrom(from.Addr.Addr(), udpProbePort), Dst: netip.AddrPortFrom(to.Addr.Addr(), udpPort),
		Payload: payload}.Bytes()
	if err != nil {
		return nil, fmt.Errorf("build udp datagram: %w", err)
	}
	return f, nil
}

// udpPassedOn judges the datagram a phase wrote while the lookup answered
// NO_NEIGH: it must reach the receiver as it was sent, ports included.
func (c *checker) udpPassedOn(atTo *watchpoint, via, to topology.Place, payload []byte, d grade.Counters[uint32]) labs.Result {
	got := filter(atTo.frames, func(f witness.Frame) bool { return carries(f, payload) })
	right := filter(got, func(f witness.Frame) bool {
		return f.Packet.UDP.SrcPort == udpProbePort && f.Packet.UDP.DstPort == udpPort && f.Packet.IPv4.Dst == to.Addr.Addr()
	})
	hint := fmt.Sprintf("the datagram came out nowhere: on NO_NEIGH pass it to %s's kernel untouched%s", via.Node, c.ex.verdict)
	if len(got) > len(right) {
		hint = fmt.Sprintf("the datagram reached %s with its ports changed: the program swapped them before it knew the lookup succeeded; swap the ports only after BPF_FIB_LKUP_RET_SUCCESS, since on NO_NEIGH the packet goes on to the kernel as it came%s", to.Node, c.ex.ports)
	}
	return labs.Assert(
		fmt.Sprintf("while the lookup answers NO_NEIGH, a UDP datagram %d -> %s:%d reaches %s with its ports as sent", udpProbePort, to.Addr.Addr(), udpPort, to.Node),
		len(right) == 1, fmt.Sprintf("1 datagram, ports %d -> %d", udpProbePort, udpPort), describe(got), hint)
}

// udpEcho is a datagram a sender's socket got back.
type udpEcho struct {
	from    netip.AddrPort
	payload []byte
}

// udpRound is what a round of datagrams saw.
type udpRound struct {
	local netip.AddrPort // the sending socket's address
	sent  [][]byte
	got   []udpEcho
	// failure says why sending stopped before its end, when it did:
	// evidence, not an environment fault.
	failure error
}

// sendUDP sends n datagrams from a socket bound to from's address (any
// port) to dst, and collects what comes back to that socket until all n
// have or grade.Arrival has passed. The error is for a check that could not
// run or was interrupted.
func sendUDP(ctx context.Context, from topology.Place, dst netip.AddrPort, n int) (r udpRound, err error) {
	var conn *net.UDPConn
	err = from.NS.Do(func() error {
		// A socket belongs to the namespace of the thread that made it.
		var err error
		conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from.Addr.Addr(), 0)))
		return err
	})
	if err != nil {
		return r, fmt.Errorf("udp socket in %s: %w", from.NS.Name, err)
	}
	defer conn.Close()
	r.local = conn.LocalAddr().(*net.UDPAddr).AddrPort()
	for i := range n {
		p := []byte(fmt.Sprintf("xdplab redirect udp %d of %d", i+1, n))
		// WriteTo on an unconnected socket: an ICMP error for one datagram
		// must not fail the next send.
		if _, err := conn.WriteToUDPAddrPort(p, dst); err != nil {
			r.failure = fmt.Errorf("udp from %s to %s: %w", r.local, dst, err)
			return r, ctx.Err()
		}
		r.sent = append(r.sent, p)
	}
	deadline := time.Now().Add(grade.Arrival)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 2048)
	for len(r.got) < n {
		m, src, err := conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return r, fmt.Errorf("udp socket %s: %w", r.local, err)
		}
		r.got = append(r.got, udpEcho{from: netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), payload: append([]byte(nil), buf[:m]...)})
	}
	return r, ctx.Err()
}

// udpReflected sends datagrams from the sender to the receiver's udpPort,
// entering node1 through via: each must come back to the socket that sent
// it, from the address and port it was sent to, with its payload; the
// receiver must get none.
func (c *checker) udpReflected(from, via, to topology.Place) error {
	dst := netip.AddrPortFrom(to.Addr.Addr(), udpPort)
	sink, err := traffic.ListenUDP(to.NS, dst)
	if err != nil {
		return err
	}
	defer sink.Close()
	wit, err := witness.Open(from.NS, from.Iface, witness.Options{EtherType: packet.EtherTypeIPv4, Direction: witness.In})
	if err != nil {
		return err
	}
	defer wit.Close()
	var r udpRound
	d, err := c.measure(func() (err error) {
		r, err = sendUDP(c.ctx, from, dst, pings)
		return err
	})
	if err != nil {
		return err
	}
	frames, err := wit.Frames(grade.Quiet)
	if err != nil {
		return err
	}
	right := 0
	var others []string
	for _, e := range r.got {
		if e.from == dst && slices.ContainsFunc(r.sent, func(p []byte) bool { return bytes.Equal(p, e.payload) }) {
			right++
		} else {
			others = append(others, fmt.Sprintf("%d bytes from %s", len(e.payload), e.from))
		}
	}
	observed := fmt.Sprintf("%d of %d", right, pings)
	if len(others) > 0 {
		observed += fmt.Sprintf(" (also %v)", others)
	}
	if r.failure != nil {
		observed += fmt.Sprintf("; sending stopped: %v", r.failure)
	}
	var ours []witness.Frame
	for _, f := range frames {
		for _, p := range r.sent {
			if carries(f, p) {
				ours = append(ours, f)
				break
			}
		}
	}
	hint := first(c.notSentHint(from, r.failure), c.udpHint(ours, from, via, to, r.local, sink.Count(), d))
	c.add(labs.Assert(
		fmt.Sprintf("%d UDP datagrams %s -> %s come back to %s's socket from %s, payload unchanged", pings, from.Node, dst, from.Node, dst),
		right == pings, fmt.Sprintf("%d of %d", pings, pings), observed, hint))
	c.add(grade.ExactCount(fmt.Sprintf("%s receives none of %s's datagrams", to.Node, from.Node), 0, sink.Count(), hint))
	return nil
}

// udpHint reads the datagrams that came back to the sender's interface
// (ours), what reached the receiver and what the program counted, for the
// mistake that kept the datagrams from their socket.
func (c *checker) udpHint(ours []witness.Frame, from, via, to topology.Place, local netip.AddrPort, atReceiver int, d grade.Counters[uint32]) string {
	src, far := from.Addr.Addr(), to.Addr.Addr()
	for _, f := range ours {
		u, ip := &f.Packet.UDP, &f.Packet.IPv4
		if ip.Src != far || ip.Dst != src {
			if h := reflectedFrameHint(f, from, src, far, c.ex); h != "" {
				return h
			}
			continue
		}
		if h := reflectedFrameHint(f, from, src, far, c.ex); h != "" {
			return h
		}
		swapped := func(p uint16) uint16 { return bits.ReverseBytes16(p) }
		switch {
		case u.SrcPort == udpPort && u.DstPort == local.Port():
			if !udpChecksumValid(f) {
				return fmt.Sprintf("the reflected datagrams reach %s with a wrong UDP checksum, so its kernel drops them: swapping ports and addresses keeps the checksum right, any other change must update it%s", from.Node, c.ex.ports)
			}
		case u.SrcPort == local.Port() && u.DstPort == udpPort:
			return fmt.Sprintf("the reflected datagrams reach %s addressed to port %d, from port %d: their ports were not swapped, so no socket of %s's waits for them; swap udp->source and udp->dest%s",
				from.Node, u.DstPort, u.SrcPort, from.Node, c.ex.ports)
		case u.SrcPort == u.DstPort:
			return fmt.Sprintf("the reflected datagrams reach %s with both ports %d: the first assignment overwrote a port before it was copied; keep one port in a variable while you swap%s",
				from.Node, u.SrcPort, c.ex.ports)
		case u.SrcPort == swapped(udpPort) || u.DstPort == swapped(local.Port()):
			return fmt.Sprintf("the reflected datagrams reach %s with their ports byte-swapped (%d -> %d, want %d -> %d): ports are in network byte order in the packet, and swapping them needs no bpf_htons or bpf_ntohs%s",
				from.Node, u.SrcPort, u.DstPort, udpPort, local.Port(), c.ex.ports)
		default:
			return fmt.Sprintf("the reflected datagrams reach %s with ports %d -> %d, want %d -> %d: swap udp->source and udp->dest%s",
				from.Node, u.SrcPort, u.DstPort, udpPort, local.Port(), c.ex.ports)
		}
	}
	if atReceiver > 0 {
		if d != nil && lookups(d) > 0 && d[actionRedirect]+d[actionAborted]+d[actionTX] == 0 {
			return fmt.Sprintf("the datagrams went on to %s: the program looked them up but then passed them; the UDP header starts ip->ihl * 4 bytes after the IP header's start, and a whole struct udphdr fits there%s", to.Node, c.ex.ports)
		}
		return fmt.Sprintf("the datagrams went on to %s (%d arrived there): the program passed them; reflect UDP as well as ICMP%s, and swap its ports%s", to.Node, atReceiver, c.ex.protocols, c.ex.ports)
	}
	if d != nil {
		if h := explain(d, c.sit); h != "" {
			return h
		}
	}
	return fmt.Sprintf("the datagrams went into %s/%s and came out nowhere: reflect them like ICMP, ports swapped%s", via.Node, via.Iface, c.ex.ports)
}

// udpChecksumValid reports whether a UDP datagram's checksum (0: none)
// matches its pseudo-header and contents.
func udpChecksumValid(f witness.Frame) bool {
	u, ip := &f.Packet.UDP, &f.Packet.IPv4
	if u.Checksum == 0 {
		return true
	}
	ihl := int(f.Data[14]&0x0f) * 4
	seg := f.Data[14+ihl:]
	if int(u.Length) <= len(seg) {
		seg = seg[:u.Length]
	}
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	s, dst := ip.Src.As4(), ip.Dst.As4()
	add(s[:])
	add(dst[:])
	sum += packet.ProtoUDP + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum == 0xffff
}
