package grade_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
	"github.com/xdplab/xdplab/topology"
	"github.com/xdplab/xdplab/topology/topotest"
)

// lpmKey is basic_firewall's blacklist key.
type lpmKey struct{ Prefixlen, Addr uint32 }

func newMap(t *testing.T, typ ebpf.MapType, keySize, valueSize uint32) *ebpf.Map {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "counts", Type: typ, KeySize: keySize, ValueSize: valueSize, MaxEntries: 32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// perCPU spreads n over the CPUs: 1 on each but the first, the rest there.
func perCPU[V uint32 | uint64](t *testing.T, n V) []V {
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	vs := make([]V, cpus)
	vs[0] = n - V(cpus-1)
	for i := 1; i < cpus; i++ {
		vs[i] = 1
	}
	return vs
}

func put(t *testing.T, m *ebpf.Map, k, v any) {
	t.Helper()
	if err := m.Put(k, v); err != nil {
		t.Fatal(err)
	}
}

// expectCounters reads m and compares it with want.
func expectCounters[K comparable](t *testing.T, m *ebpf.Map, want grade.Counters[K]) {
	t.Helper()
	got, err := grade.ReadCounters[K](m)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, %v; want %v", m.Type(), got, err, want)
	}
}

func TestReadCounters(t *testing.T) {
	testutils.RequirePrivileged(t)

	for _, c := range []struct {
		typ       ebpf.MapType
		valueSize uint32
		key       uint32
		value     any
		want      uint64
	}{
		{ebpf.Array, 8, 6, uint64(1 << 40), 1 << 40},
		{ebpf.Array, 4, 2, uint32(5), 5},
		{ebpf.PerCPUArray, 8, 17, perCPU[uint64](t, 5), 5},
		{ebpf.Hash, 8, 1, uint64(3), 3},
		{ebpf.PerCPUHash, 4, 3, perCPU[uint32](t, 7), 7},
		{ebpf.LRUHash, 8, 9, uint64(4), 4},
		{ebpf.LRUCPUHash, 8, 9, perCPU[uint64](t, 6), 6},
	} {
		// Arrays hold 31 zero counters besides: they are not listed.
		m := newMap(t, c.typ, 4, c.valueSize)
		put(t, m, c.key, c.value)
		expectCounters(t, m, grade.Counters[uint32]{c.key: c.want})
	}

	t.Run("HASH with a struct key", func(t *testing.T) {
		m := newMap(t, ebpf.Hash, 8, 8)
		k := lpmKey{Prefixlen: 24, Addr: binary.NativeEndian.Uint32([]byte{192, 168, 0, 0})}
		put(t, m, k, uint64(2))
		put(t, m, lpmKey{Prefixlen: 8, Addr: 10}, uint64(0)) // zero: not listed
		expectCounters(t, m, grade.Counters[lpmKey]{k: 2})
	})
	t.Run("refused", func(t *testing.T) {
		for _, c := range []struct {
			m    *ebpf.Map
			read func(*ebpf.Map) error
			want string
		}{
			{newMap(t, ebpf.Array, 4, 8), func(m *ebpf.Map) error { _, err := grade.ReadCounters[lpmKey](m); return err },
				"read map counts: its keys are 4 bytes, grade_test.lpmKey is 8"},
			{newMap(t, ebpf.Array, 4, 8), func(m *ebpf.Map) error { _, err := grade.ReadCounters[netip.Addr](m); return err },
				"read map counts: netip.Addr has no fixed size to decode its keys into"},
			{newMap(t, ebpf.Array, 4, 16), func(m *ebpf.Map) error { _, err := grade.ReadCounters[uint32](m); return err },
				"read map counts: its values are 16 bytes, not a u32 or u64 counter"},
			{newMap(t, ebpf.ProgramArray, 4, 4), func(m *ebpf.Map) error { _, err := grade.ReadCounters[uint32](m); return err },
				"read map counts: a ProgramArray holds no counters"},
		} {
			if err := c.read(c.m); err == nil || err.Error() != c.want {
				t.Errorf("%s: %v, want %q", c.m.Type(), err, c.want)
			}
		}
	})
}

func TestMeasure(t *testing.T) {
	testutils.RequirePrivileged(t)
	m := newMap(t, ebpf.PerCPUArray, 4, 8)
	put(t, m, uint32(1), perCPU[uint64](t, 10))
	put(t, m, uint32(6), perCPU[uint64](t, 10))
	sendFailed := errors.New("udp: sent 2 of 5")
	d, actErr, err := grade.Measure[uint32](t.Context(), m, func() error {
		put(t, m, uint32(1), perCPU[uint64](t, 13))
		put(t, m, uint32(17), perCPU[uint64](t, 2))
		return sendFailed
	})
	if err != nil || actErr != sendFailed {
		t.Fatalf("errors %v, %v; want only the act's", actErr, err)
	}
	if want := (grade.Counters[uint32]{1: 3, 17: 2}); !reflect.DeepEqual(d, want) {
		t.Errorf("delta %v, want %v", d, want)
	}

	// A map that cannot be read afterwards is an error of its own, and the
	// act's error still comes back.
	gone := newMap(t, ebpf.Array, 4, 8)
	_, actErr, err = grade.Measure[uint32](t.Context(), gone, func() error { gone.Close(); return sendFailed })
	if err == nil || !strings.HasPrefix(err.Error(), "read map ") || actErr != sendFailed {
		t.Errorf("map closed during the act: %v, act %v", err, actErr)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	acted := false
	if _, _, err := grade.Measure[uint32](ctx, m, func() error { acted = true; return nil }); !errors.Is(err, context.Canceled) || acted {
		t.Errorf("interrupted before: %v, acted %v", err, acted)
	}
}

func TestOpenMap(t *testing.T) {
	testutils.RequirePrivileged(t)
	env := pinEnv(t, labs.ModeNative)
	inst := env.Instance
	m := newMap(t, ebpf.Array, 4, 8)
	if err := m.Pin(env.Pin("protocols")); err != nil {
		t.Fatal(err)
	}

	ro, err := grade.OpenMap(env, "protocols", true)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Put(uint32(1), uint64(1)); err == nil {
		t.Error("a map opened read-only took an update")
	}
	rw, err := grade.OpenMap(env, "protocols", false)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if err := rw.Put(uint32(1), uint64(1)); err != nil {
		t.Errorf("a map opened read-write refused an update: %v", err)
	}

	_, err = grade.OpenMap(env, "matches", true)
	want := fmt.Sprintf("pin %s (map matches) is gone: run `xdplab down grade --instance %s` and `xdplab up grade --mode native --instance %s` again (",
		env.Pin("matches"), inst, inst)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("missing pin: %v\nwant %s...", err, want)
	}
	if !errors.Is(err, labs.ErrEnvironment) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing pin: %v is not ErrEnvironment wrapping ErrNotExist", err)
	}
}

func TestTraffic(t *testing.T) {
	d := topotest.Deploy(t, topology.Pair(), "grade")
	sender, dut := d.MustRole("sender"), d.MustRole("dut")
	ctx := t.Context()

	t.Run("Pings", func(t *testing.T) {
		p, err := grade.Pings(ctx, sender, dut.Addr.Addr(), 3)
		if err != nil {
			t.Fatal(err)
		}
		if r := grade.PingsAnswered("", p, "h"); !r.Pass || r.Observed != "3 replies" || r.Name != "3 pings host -> 192.168.0.2 are answered" {
			t.Errorf("%+v", r)
		}
		// Nobody has this address: no reply is evidence, not an error.
		p, err = grade.Pings(ctx, sender, netip.MustParseAddr("192.168.0.9"), 1)
		if err != nil {
			t.Fatal(err)
		}
		if r := grade.PingsAnswered("", p, "h"); r.Pass || !strings.HasPrefix(r.Observed, "0 replies") {
			t.Errorf("%+v", r)
		}
	})

	t.Run("PingsSeenByWitnesses", func(t *testing.T) {
		out, err := witness.Open(sender.NS, sender.Iface, witness.Options{EtherType: packet.EtherTypeIPv4})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		in, err := witness.Open(dut.NS, dut.Iface, witness.Options{EtherType: packet.EtherTypeIPv4, Direction: witness.In})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		p, err := grade.Pings(ctx, sender, dut.Addr.Addr(), 2)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := witness.Collect(grade.Quiet, out, in)
		if err != nil {
			t.Fatal(err)
		}
		src, dst, id := sender.Addr.Addr(), dut.Addr.Addr(), uint16(p.ID)
		var atSender, atDUT []grade.Step
		for seq := uint16(1); seq <= 2; seq++ {
			atSender = append(atSender,
				grade.EchoStep(true, packet.ICMPv4EchoRequest, src, dst, id, seq),
				grade.EchoStep(false, packet.ICMPv4EchoReply, dst, src, id, seq))
			atDUT = append(atDUT, grade.EchoStep(false, packet.ICMPv4EchoRequest, src, dst, id, seq))
		}
		for i, steps := range [][]grade.Step{atSender, atDUT} {
			if r := grade.FrameSequence("pings", steps, frames[i], "h"); !r.Pass {
				t.Errorf("witness %d: %+v", i, r)
			}
		}
	})

	t.Run("Datagrams", func(t *testing.T) {
		got, err := grade.Datagrams(ctx, sender, dut, 9999, 5, 32)
		if err != nil {
			t.Fatal(err)
		}
		if got.Arrived != 5 || got.Bytes != 5*32 || got.Failure != nil {
			t.Errorf("%+v, want 5 datagrams of 32 bytes", got)
		}
		if r := grade.DatagramsArrived("", got, "h"); !r.Pass {
			t.Errorf("%+v", r)
		}
	})

	t.Run("TCPExchange", func(t *testing.T) {
		got, err := grade.TCPExchange(ctx, sender, dut, 8888, []byte("hello grade\n"))
		if err != nil {
			t.Fatal(err)
		}
		if !got.OK() || got.Accepted != 1 || got.Local.Addr() != sender.Addr.Addr() || got.Remote != netip.AddrPortFrom(dut.Addr.Addr(), 8888) {
			t.Errorf("%+v: %s", got.TCPResult, got)
		}
	})

	t.Run("PortInUse", func(t *testing.T) {
		held, err := traffic.ListenTCP(dut.NS, netip.AddrPortFrom(dut.Addr.Addr(), 8888))
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		_, err = grade.TCPExchange(ctx, sender, dut, 8888, []byte("x"))
		var pe *traffic.PortInUseError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "tcp port 8888 in netns "+dut.NS.Name+" is taken by pid ") {
			t.Errorf("exchange on a held port: %v (%T), want a PortInUseError", err, err)
		}
		udp, err := traffic.ListenUDP(dut.NS, netip.AddrPortFrom(dut.Addr.Addr(), 9999))
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		if _, err := grade.Datagrams(ctx, sender, dut, 9999, 1, 8); !errors.As(err, &pe) {
			t.Errorf("datagrams to a held port: %v, want a PortInUseError", err)
		}
	})

	t.Run("Loopback", func(t *testing.T) {
		lo := grade.Loopback(dut)
		p, err := grade.Pings(ctx, lo, lo.Addr.Addr(), 2)
		if err != nil || p.Received != 2 {
			t.Errorf("ping 127.0.0.1 in %s: %d replies, %v", dut.Node, p.Received, err)
		}
		got, err := grade.Datagrams(ctx, lo, lo, 9999, 3, 100)
		if err != nil || got.Arrived != 3 {
			t.Errorf("datagrams over lo: %+v, %v", got, err)
		}
	})

	t.Run("Faults", func(t *testing.T) {
		if _, err := grade.Datagrams(ctx, sender, dut, 0, 1, 8); err == nil || err.Error() != "port 0: want 1 to 65535" {
			t.Errorf("port 0: %v", err)
		}
		bare := dut
		bare.Addr = netip.Prefix{}
		if _, err := grade.TCPExchange(ctx, sender, bare, 8888, nil); err == nil || err.Error() != "node1/veth1 has no address to send to" {
			t.Errorf("no address: %v", err)
		}
	})

	// Last: it takes node1's interface down. What the program (here, the
	// link) keeps from arriving is evidence in the results, not an error.
	t.Run("NothingArrives", func(t *testing.T) {
		link, err := dut.NS.Netlink().LinkByName(dut.Iface)
		if err != nil {
			t.Fatal(err)
		}
		if err := dut.NS.Netlink().LinkSetDown(link); err != nil {
			t.Fatal(err)
		}
		got, err := grade.Datagrams(ctx, sender, dut, 9999, 3, 8)
		if err != nil {
			t.Fatal(err)
		}
		if r := grade.DatagramsArrived("", got, "h"); r.Pass || !strings.HasPrefix(r.Observed, "0 of 3 datagrams arrived") {
			t.Errorf("%+v", r)
		}
		ex, err := grade.TCPExchange(ctx, sender, dut, 8888, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if r := grade.TCPExchanged("", ex, "h"); r.Pass || !strings.HasPrefix(r.Observed, "no connection: ") {
			t.Errorf("%+v", r)
		}
	})
}
