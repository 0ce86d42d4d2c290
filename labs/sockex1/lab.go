// Package sockex1 is the kernel's samples/bpf sockex1 as a lab: a socket
// filter on a packet socket bound to node1's lo counts bytes per IP protocol.
package sockex1

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
)

// Names the sample uses; an --obj must provide them.
const (
	labName  = "sockex1"
	progName = "bpf_prog1"
	mapName  = "my_map"
	progPin  = "prog_" + progName
)

var want = loader.Want{
	Programs: map[string]ebpf.ProgramType{progName: ebpf.SocketFilter},
	Maps:     map[string]loader.MapShape{mapName: {Type: ebpf.Array, KeySize: 4, ValueSize: 8}},
}

// IP protocol numbers, the map's keys.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// Lab is the sockex1 lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

//go:embed guide.md
var guide string

// Info describes the lab. It has no XDP program, so no modes: its filter
// runs on a packet socket on node1's lo that check and watch each open.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     labName,
		Summary:  "count bytes per IP protocol with a socket filter on a packet socket (samples/bpf sockex1)",
		Source:   "kernel samples/bpf",
		Topology: "pair",
		Attach:   []labs.Attach{{Node: "node1", Iface: "lo", Hook: labs.HookSocket, Program: progName}},
		Next: []string{
			"sudo xdplab traffic ping --from node1 --to 127.0.0.1 -c 5{instance}   # while watch runs: ICMP 980 bytes",
		},
		Keys:  map[string]labs.KeyFormat{mapName: labs.KeyIPProto},
		Guide: guide,
	}
}

// Validate checks a learner's object before anything is created.
func (*Lab) Validate(opts labs.Options) error { return loader.CheckObj(opts.Obj, want) }

// Up loads and pins the program and its map. Unlike the sample it attaches
// nothing: a socket filter lives only as long as its socket and `up` exits,
// so check and watch each open their own socket with the pinned program.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	coll, err := loader.LoadAndPin(loadSockex1, env.Options.Obj, want, env.PinDir, mapName)
	if err != nil {
		return err
	}
	defer coll.Close()
	if err := coll.Programs[progName].Pin(env.Pin(progPin)); err != nil {
		return fmt.Errorf("pin program %s: %w", progName, err)
	}
	return nil
}

// Counts are my_map's non-zero byte counters by IP protocol.
type Counts map[uint32]uint64

func counts(env *labs.Env) (Counts, error) {
	m, err := ebpf.LoadPinnedMap(env.Pin(mapName), &ebpf.LoadPinOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open pinned map %s: %w", mapName, err)
	}
	defer m.Close()
	out := Counts{}
	var (
		key uint32
		val uint64
	)
	it := m.Iterate()
	for it.Next(&key, &val) {
		if val != 0 {
			out[key] = val
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read map %s: %w", mapName, err)
	}
	return out, nil
}

// Sub is what was added since before.
func (c Counts) Sub(before Counts) Counts {
	d := Counts{}
	for k, v := range c {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

// Format is the sample's line.
func (c Counts) Format() string {
	return fmt.Sprintf("TCP %d UDP %d ICMP %d bytes\n", c[protoTCP], c[protoUDP], c[protoICMP])
}

// Watch attaches the pinned filter to its own socket on node1's lo and
// prints, once a second, the bytes counted since it started: what the
// sample prints for its fresh map.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	fd, err := attachFilter(env.Topo.MustNS("node1"), env.Pin(progPin))
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	base, err := counts(env)
	if err != nil {
		return err
	}
	return labs.Every(ctx, time.Second, func() error {
		c, err := counts(env)
		if err != nil {
			return err
		}
		fmt.Fprint(w, c.Sub(base).Format())
		return nil
	})
}

// Traffic the check sends, all inside node1 over lo.
const (
	pings        = 5
	datagrams    = 4
	udpPayload   = 100
	udpFrameLen  = 14 + 20 + 8 + udpPayload // Ethernet + IPv4 + UDP headers + payload
	pingFrameLen = 14 + 20 + 8 + traffic.DefaultPayload
	// settle is how long lo must stay silent after the TCP exchange: the last
	// ACK of the close may still be on its way when the client returns.
	settle = 250 * time.Millisecond
)

var (
	loopback  = netip.MustParseAddr("127.0.0.1")
	udpTarget = netip.AddrPortFrom(loopback, 9999)
	tcpTarget = netip.AddrPortFrom(loopback, 8888)
)

// Check attaches the filter to its own socket on node1's lo, then sends
// pings, UDP datagrams and a TCP exchange over lo and compares the byte
// counters with what left lo.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	node1 := env.Topo.MustNS("node1")
	// Attached before the first ping, or the pings go uncounted.
	fd, err := attachFilter(node1, env.Pin(progPin))
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var results []labs.Result
	stray := Counts{} // bytes counted under a protocol the phase did not send

	// 1. Pings: 10 ICMP packets leave lo, 5 requests and 5 replies, 98 bytes each.
	before, err := counts(env)
	if err != nil {
		return nil, err
	}
	ping, err := traffic.Ping(ctx, node1, loopback, traffic.PingOptions{Count: pings})
	if err != nil {
		return nil, fmt.Errorf("ping 127.0.0.1 in node1: %w", err)
	}
	// The last reply has been read: it left lo (and was counted) before that.
	after, err := counts(env)
	if err != nil {
		return nil, err
	}
	d := after.Sub(before)
	addStray(stray, d, protoICMP)
	results = append(results, labs.Expect(fmt.Sprintf("%d pings 127.0.0.1 in node1 are answered", pings), pings, ping.Received,
		"a socket filter cannot drop anything for others: if pings fail here, node1's lo is not up"))
	results = append(results, labs.Expect(
		fmt.Sprintf("ICMP counts %d x (%d request + %d reply) bytes", pings, pingFrameLen, pingFrameLen),
		2*pings*pingFrameLen, d[protoICMP], icmpHint(d[protoICMP], env.Instance)))

	// 2. UDP datagrams to a listener, so no ICMP port unreachable comes back.
	before = after
	sink, err := traffic.ListenUDP(node1, udpTarget)
	if err != nil {
		return results, err
	}
	err = traffic.UDP(ctx, node1, udpTarget, datagrams, udpPayload)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = sink.Wait(wctx, datagrams)
		cancel()
	}
	sink.Close()
	if err != nil {
		return results, fmt.Errorf("udp to %s in node1: %w", udpTarget, err)
	}
	after, err = counts(env)
	if err != nil {
		return results, err
	}
	d = after.Sub(before)
	addStray(stray, d, protoUDP)
	results = append(results, labs.Expect(
		fmt.Sprintf("UDP counts %d datagrams x %d bytes (%d payload + 42 header)", datagrams, udpFrameLen, udpPayload),
		datagrams*udpFrameLen, d[protoUDP],
		"add skb->len under key ip->protocol for PACKET_OUTGOING packets only; skb->len counts the 14-byte Ethernet header lo carries too"))

	// 3. A TCP exchange. Its segment count depends on the stack (delayed
	// ACKs, options), so a plain packet socket on lo counts the bytes that
	// left lo alongside the filter.
	witness, err := openWitness(node1)
	if err != nil {
		return results, err
	}
	defer witness.Close()
	before = after
	ln, err := traffic.ListenTCP(node1, tcpTarget)
	if err != nil {
		return results, err
	}
	_, err = traffic.TCPConnect(ctx, node1, tcpTarget, []byte("hello sockex1\n"))
	ln.Close()
	if err != nil {
		return results, fmt.Errorf("tcp to %s in node1: %w", tcpTarget, err)
	}
	seen, err := witness.drain(settle)
	if err != nil {
		return results, err
	}
	after, err = counts(env)
	if err != nil {
		return results, err
	}
	d = after.Sub(before)
	addStray(stray, d, protoTCP)
	results = append(results, labs.Assert("TCP counts every segment of a connection, as a plain packet socket on lo saw them leave",
		seen[protoTCP] > 0 && d[protoTCP] == seen[protoTCP], fmt.Sprint(seen[protoTCP]), fmt.Sprint(d[protoTCP]),
		"count each outgoing segment once with its skb->len: SYN, ACKs, data and FINs alike"))

	observed := "none"
	if len(stray) > 0 {
		observed = fmt.Sprint(map[uint32]uint64(stray))
	}
	results = append(results, labs.Expect("nothing else is counted", "none", observed,
		"key my_map by the protocol byte at ETH_HLEN + offsetof(struct iphdr, protocol), and count PACKET_OUTGOING only"))
	return results, nil
}

// addStray adds to stray what d counted under protocols other than sent.
func addStray(stray, d Counts, sent uint32) {
	for k, v := range d {
		if k != sent {
			stray[k] += v
		}
	}
}

func icmpHint(got uint64, instance string) string {
	const want = 2 * pings * pingFrameLen
	switch {
	case got == 0:
		return "nothing was counted under IPPROTO_ICMP (1): read the protocol byte at ETH_HLEN + offsetof(struct iphdr, protocol) and add skb->len to that slot"
	case got%want == 0:
		return "counted several times: skip packets whose skb->pkt_type is not PACKET_OUTGOING (lo shows each packet leaving and arriving), " +
			"and close other sockets running this filter (" + labs.Cmd(instance, "watch sockex1") + "): each one counts every packet again"
	}
	return "add skb->len, the whole frame with its 14-byte Ethernet header, once per outgoing packet"
}
