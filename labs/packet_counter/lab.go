// Package packetcounter is the first lab: an XDP program that counts packets
// per IP protocol on node1's veth1 and passes them on.
package packetcounter

import (
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
)

// Names the tutorial uses; an --obj must provide them.
const (
	progName = "packet_count"
	mapName  = "protocols"
	linkPin  = "link_node1_veth1"
)

var want = loader.Want{
	Programs: map[string]ebpf.ProgramType{progName: ebpf.XDP},
	Maps:     map[string]loader.MapShape{mapName: {Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8}},
}

// Traffic the check sends.
const (
	pings     = 3
	datagrams = 5
)

var (
	node1Addr = netip.MustParseAddr("192.168.0.2")
	udpTarget = netip.AddrPortFrom(node1Addr, 9)
	tcpTarget = netip.AddrPortFrom(node1Addr, 8888)
)

// Lab is the packet_counter lab.
type Lab struct{}

// New returns the lab.
func New() *Lab { return &Lab{} }

//go:embed guide.md
var guide string

// Info describes the lab.
func (*Lab) Info() labs.Info {
	return labs.Info{
		Name:     "packet_counter",
		Summary:  "count packets per IP protocol with XDP and a per-CPU array",
		Source:   "go-xdp-examples",
		Topology: "pair",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Attach:   []labs.Attach{{Node: "node1", Iface: "veth1", Hook: labs.HookXDP, Program: progName}},
		Next: []string{
			// Traffic to watch the counters move.
			"sudo xdplab traffic ping --from host --to {addr:dut}{instance}   # or: sudo ip netns exec {ns:host} ping {addr:dut}",
		},
		Keys:  mapKeys,
		Guide: guide,
	}
}

// Validate checks a learner's object before anything is created.
func (*Lab) Validate(opts labs.Options) error { return loader.CheckObj(opts.Obj, want) }

// Up loads the program, pins the counters and attaches to node1/veth1.
func (*Lab) Up(ctx context.Context, env *labs.Env) error {
	coll, err := loader.LoadAndPin(loadPacketCounter, env.Options.Obj, want, env.PinDir, mapName)
	if err != nil {
		return err
	}
	defer coll.Close()
	native := env.Options.Mode == labs.ModeNative
	return loader.AttachXDP(env.Topo.MustNS("node1"), "veth1", coll.Programs[progName], native, env.Pin(linkPin))
}

// counts reads the protocols map, summed over CPUs.
func counts(env *labs.Env) (map[uint32]uint64, error) {
	m, err := ebpf.LoadPinnedMap(env.Pin(mapName), &ebpf.LoadPinOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open pinned map %s: %w", mapName, err)
	}
	defer m.Close()
	out, err := loader.PerCPUCounts(m)
	if err != nil {
		return nil, fmt.Errorf("read map %s: %w", mapName, err)
	}
	return out, nil
}

func delta(after, before map[uint32]uint64) map[uint32]uint64 {
	d := map[uint32]uint64{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// Check sends pings, UDP datagrams and a TCP exchange from host to node1 and
// compares the counter increments with what was sent.
func (*Lab) Check(ctx context.Context, env *labs.Env) ([]labs.Result, error) {
	host, node1 := env.Topo.MustNS("host"), env.Topo.MustNS("node1")
	var results []labs.Result
	start, err := counts(env)
	if err != nil {
		return nil, err
	}

	before := start
	ping, err := traffic.Ping(ctx, host, node1Addr, traffic.PingOptions{Count: pings})
	if err != nil {
		return nil, fmt.Errorf("ping from host: %w", err)
	}
	results = append(results, labs.Expect(
		fmt.Sprintf("%d pings host -> 192.168.0.2 are answered", pings), pings, ping.Received,
		"the program must return XDP_PASS for ICMP; if it drops, node1 never sees the echo requests"))
	after, err := counts(env)
	if err != nil {
		return results, err
	}
	results = append(results, labs.Expect(
		fmt.Sprintf("IPPROTO_ICMP counts the %d echo requests", pings), pings, delta(after, before)[protoICMP],
		"key the map by ip->protocol and add 1 per packet (a lookup in a PERCPU_ARRAY returns this CPU's slot)"))

	before = after
	sink, err := traffic.ListenUDP(node1, udpTarget)
	if err != nil {
		return results, err
	}
	if err := traffic.UDP(ctx, host, udpTarget, datagrams, 32); err != nil {
		sink.Close()
		return results, fmt.Errorf("udp from host: %w", err)
	}
	// Waiting for the datagrams at node1 means the program has seen them.
	// Fewer arriving is the program's doing (it dropped them) and shows in
	// the counter, so a shortfall is no error of the check.
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	sink.Wait(wctx, datagrams)
	cancel()
	sink.Close()
	after, err = counts(env)
	if err != nil {
		return results, err
	}
	results = append(results, labs.Expect(
		fmt.Sprintf("IPPROTO_UDP counts the %d datagrams", datagrams), datagrams, delta(after, before)[protoUDP],
		"every UDP datagram is one IPv4 packet with protocol 17; count each exactly once"))

	before = after
	ln, err := traffic.ListenTCP(node1, tcpTarget)
	if err != nil {
		return results, err
	}
	// A connection that fails is the program's doing (it dropped a
	// segment): the expectation fails with the reason, the check goes on.
	_, terr := traffic.TCPConnect(ctx, host, tcpTarget, []byte("hello xdplab\n"))
	ln.Close()
	after, err = counts(env)
	if err != nil {
		return results, err
	}
	tcp := delta(after, before)[protoTCP]
	tcpObserved, hint := fmt.Sprint(tcp), "a TCP connection sends SYN, ACK, data and FIN towards node1: each is one packet with protocol 6"
	if terr != nil {
		tcpObserved += fmt.Sprintf(" (the connection failed: %v)", terr)
		hint = "the program must return XDP_PASS for TCP too, or the connection never completes; then " + hint
	}
	results = append(results, labs.Assert("IPPROTO_TCP counts the TCP exchange",
		terr == nil && tcp > 0, "> 0", tcpObserved, hint))

	others := map[string]uint64{}
	for k, v := range delta(after, start) {
		if k != protoICMP && k != protoTCP && k != protoUDP {
			others[labs.IPProtoName(k)] = v
		}
	}
	observed := "none"
	if len(others) > 0 {
		observed = fmt.Sprint(others)
	}
	results = append(results, labs.Expect("no other protocol is counted", "none", observed,
		"only IPv4 packets have ip->protocol; check the EtherType is ETH_P_IP before reading the IP header"))
	return results, nil
}

// Watch prints the counters once a second in the tutorial's format.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	return labs.Every(ctx, time.Second, func() error {
		c, err := counts(env)
		if err != nil {
			return err
		}
		fmt.Fprint(w, Format(c))
		return nil
	})
}

// Format renders counters as the tutorial does: "IPPROTO_ICMP : 3" lines in
// protocol order, followed by a blank line.
func Format(c map[uint32]uint64) string {
	keys := make([]uint32, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	s := ""
	var key [4]byte
	for _, k := range keys {
		binary.NativeEndian.PutUint32(key[:], k)
		s += fmt.Sprintf("%s : %d\n", mapKeys[mapName](key[:]), c[k])
	}
	return s + "\n"
}

// mapKeys name the protocols map's keys, in watch as in status.
var mapKeys = map[string]labs.KeyFormat{mapName: labs.KeyIPProto}
