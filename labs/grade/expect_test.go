package grade

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/ipv4"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
)

var (
	hostAddr  = netip.MustParseAddr("192.168.0.3")
	node1Addr = netip.MustParseAddr("192.168.0.2")
	node2Addr = netip.MustParseAddr("192.168.1.5")
	host      = topology.Place{ResolvedEndpoint: topology.ResolvedEndpoint{Node: "host", Iface: "veth0", Addr: netip.MustParsePrefix("192.168.0.3/24")}}
	node1     = topology.Place{ResolvedEndpoint: topology.ResolvedEndpoint{Node: "node1", Iface: "veth1", Addr: netip.MustParsePrefix("192.168.0.2/24")}}
)

// check compares a result with what it must say, field by field.
func check(t *testing.T, got, want labs.Result) {
	t.Helper()
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// same compares one text with what it must say.
func same(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func reply(seq int) traffic.Echo {
	return traffic.Echo{From: node1Addr, To: hostAddr, Type: ipv4.ICMPTypeEchoReply, ID: 7, Seq: seq}
}

func TestPings(t *testing.T) {
	const hint = "return XDP_PASS"
	all := Pinged{From: host, To: node1Addr, Count: 3, PingResult: traffic.PingResult{Received: 3, Replies: []traffic.Echo{reply(1), reply(2), reply(3)}}}
	check(t, PingsAnswered("", all, hint), labs.Result{
		Name: "3 pings host -> 192.168.0.2 are answered", Expected: "3 replies", Observed: "3 replies", Pass: true,
	})
	some := Pinged{From: host, To: node1Addr, Count: 3, PingResult: traffic.PingResult{
		Received: 1, Replies: []traffic.Echo{reply(2)},
		Other: []traffic.Echo{{From: node1Addr, Type: ipv4.ICMPTypeDestinationUnreachable}},
	}}
	check(t, PingsAnswered("pings pass", some, hint), labs.Result{
		Name: "pings pass", Expected: "3 replies", Hint: hint,
		Observed: "1 reply (none to seq 1, 3); also destination unreachable from 192.168.0.2",
	})
	same(t, some.String(), "1 reply (none to seq 1, 3); also destination unreachable from 192.168.0.2")
	env := &labs.Env{Instance: "t1", Lab: "redirect", Options: labs.Options{Mode: labs.ModeNative}}
	same(t, some.NotSentHint(env), "")
	stopped := some
	stopped.Failure = errors.New("sendto: network is unreachable")
	same(t, stopped.NotSentHint(env), "pinging from host stopped before its end (sendto: network is unreachable), so your program never saw the rest: "+
		"the lab's network is not as up left it: run `xdplab down redirect --instance t1` and `xdplab up redirect --mode native --instance t1` again")
	reflected := Pinged{From: host, To: node2Addr, Count: 2, PingResult: traffic.PingResult{
		Errors: 1,
		Requests: []traffic.Echo{
			{From: node2Addr, To: hostAddr, Type: ipv4.ICMPTypeEcho, ID: 7, Seq: 1},
			{From: node2Addr, To: hostAddr, Type: ipv4.ICMPTypeEcho, ID: 7, Seq: 2},
		},
	}, Failure: errors.New("ping 192.168.1.5 from x: operation not permitted")}
	check(t, PingsAnswered("", reflected, hint), labs.Result{
		Name: "2 pings host -> 192.168.1.5 are answered", Expected: "2 replies", Hint: hint,
		Observed: "0 replies; 1 request could not be sent (host unreachable); 2 own echo requests came back from 192.168.1.5; pinging stopped: ping 192.168.1.5 from x: operation not permitted",
	})
	none := Pinged{From: host, To: node1Addr, Count: 3}
	check(t, PingsUnanswered("", none, "drop"), labs.Result{
		Name: "3 pings host -> 192.168.0.2 get no reply", Expected: "0 replies", Observed: "0 replies", Pass: true,
	})
	check(t, PingsUnanswered("", all, "drop"), labs.Result{
		Name: "3 pings host -> 192.168.0.2 get no reply", Expected: "0 replies", Observed: "3 replies", Hint: "drop",
	})
}

func TestDatagramsArrived(t *testing.T) {
	dst := netip.MustParseAddrPort("192.168.0.2:9")
	check(t, DatagramsArrived("", Delivered{From: host, To: node1, Dst: dst, Count: 5, Arrived: 5}, "h"), labs.Result{
		Name: "5 UDP datagrams host -> 192.168.0.2:9 arrive", Expected: "5 of 5 datagrams arrived", Observed: "5 of 5 datagrams arrived", Pass: true,
	})
	check(t, DatagramsArrived("udp", Delivered{From: host, To: node1, Dst: dst, Count: 5, Arrived: 2, Failure: errors.New("no buffer space")}, "h"), labs.Result{
		Name: "udp", Expected: "5 of 5 datagrams arrived", Observed: "2 of 5 datagrams arrived (sending failed: no buffer space)", Hint: "h",
	})
}

func TestFramesArrived(t *testing.T) {
	check(t, FramesArrived("", Written{From: host, To: node1, What: "3 ICMPv6 echo requests", Count: 3, Arrived: 3}, "h"), labs.Result{
		Name: "3 ICMPv6 echo requests host -> node1/veth1 arrive", Expected: "3 of 3 frames arrived", Observed: "3 of 3 frames arrived", Pass: true,
	})
	check(t, FramesArrived("", Written{From: host, To: node1, What: "1 IPv6 TCP SYN", Count: 1, Arrived: 0}, "h"), labs.Result{
		Name: "1 IPv6 TCP SYN host -> node1/veth1 arrives", Expected: "1 of 1 frames arrived", Observed: "0 of 1 frames arrived", Hint: "h",
	})
	check(t, FramesArrived("v6", Written{From: host, To: node1, Count: 2, Arrived: 1, Failure: errors.New("no buffer space")}, "h"), labs.Result{
		Name: "v6", Expected: "2 of 2 frames arrived", Observed: "1 of 2 frames arrived (writing failed: no buffer space)", Hint: "h",
	})
}

func TestTCPExchanged(t *testing.T) {
	payload := []byte("hello\n")
	local := netip.MustParseAddrPort("192.168.0.3:43910")
	ok := Exchanged{Client: host, Server: node1, Dst: netip.MustParseAddrPort("192.168.0.2:8888"), Payload: payload,
		TCPResult: traffic.TCPResult{Local: local, Sent: 6, Reply: payload}, Accepted: 1}
	check(t, TCPExchanged("", ok, "h"), labs.Result{
		Name: "TCP exchange host -> 192.168.0.2:8888 completes", Expected: "connected, 6 of 6 bytes echoed", Observed: "connected, 6 of 6 bytes echoed", Pass: true,
	})
	if ok.String() != "connected from 192.168.0.3:43910, 6 of 6 bytes echoed" {
		t.Errorf("String = %q", ok)
	}
	refused := ok
	refused.TCPResult, refused.Failure = traffic.TCPResult{}, errors.New("connection refused")
	check(t, TCPExchanged("", refused, "h"), labs.Result{
		Name: "TCP exchange host -> 192.168.0.2:8888 completes", Expected: "connected, 6 of 6 bytes echoed", Observed: "no connection: connection refused", Hint: "h",
	})
	cut := ok
	cut.Reply = payload[:2]
	if got := TCPExchanged("", cut, "h").Observed; got != "connected from 192.168.0.3:43910, 6 bytes sent, 2 bytes came back, not the same" {
		t.Errorf("observed %q", got)
	}
	reset := ok
	reset.Failure = errors.New("connection reset by peer")
	if got := TCPExchanged("", reset, "h").Observed; got != "connected from 192.168.0.3:43910, then: connection reset by peer" {
		t.Errorf("observed %q", got)
	}
}

func TestCounts(t *testing.T) {
	check(t, ExactCount("IPPROTO_ICMP counts 3", uint64(3), 3, "h"), labs.Result{Name: "IPPROTO_ICMP counts 3", Expected: "3", Observed: "3", Pass: true})
	check(t, ExactCount("bytes", 980, 1960, "twice"), labs.Result{Name: "bytes", Expected: "980", Observed: "1960", Hint: "twice"})
	check(t, AtLeast("tcp", uint64(1), 0, "h"), labs.Result{Name: "tcp", Expected: "at least 1", Observed: "0", Hint: "h"})
	check(t, AtLeast("tcp", 1, 7, "h"), labs.Result{Name: "tcp", Expected: "at least 1", Observed: "7", Pass: true})
}

func TestNothingElse(t *testing.T) {
	d := Counters[uint32]{1: 3, 6: 4, 17: 5, 58: 2}
	check(t, NothingElse("no other protocol", d.Except(1, 6, 17), protoName, "check the EtherType"), labs.Result{
		Name: "no other protocol", Expected: "none", Observed: "IPPROTO_58 +2", Hint: "check the EtherType",
	})
	check(t, NothingElse("no other protocol", d.Except(1, 6, 17, 58), protoName, "h"), labs.Result{
		Name: "no other protocol", Expected: "none", Observed: "none", Pass: true,
	})
	rules := Counters[lpmKey]{keyOf("10.0.0.0/8"): 1}
	check(t, NothingElse("no other rule", rules, prefixName, "h"), labs.Result{
		Name: "no other rule", Expected: "none", Observed: "10.0.0.0/8 +1", Hint: "h",
	})
}

type tuple struct {
	Src, Dst netip.AddrPort
	Len      uint32
	note     string // unexported: not compared
}

func TestEventSeen(t *testing.T) {
	src, dst := netip.MustParseAddrPort("192.168.0.3:43910"), netip.MustParseAddrPort("192.168.0.2:8888")
	swapped := netip.MustParseAddrPort("3.0.168.192:34475")
	want := tuple{Src: src, Dst: dst, Len: 74}
	const expected = "Src=192.168.0.3:43910, Dst=192.168.0.2:8888, Len=74"
	check(t, EventSeen("one event", want, []tuple{{Src: swapped, Dst: dst, Len: 74}, {Src: src, Dst: dst, Len: 74, note: "x"}}, "h"), labs.Result{
		Name: "one event", Expected: expected, Observed: expected, Pass: true,
	})
	check(t, EventSeen("one event", want, []tuple{{Src: swapped, Dst: swapped, Len: 60}, {Src: swapped, Dst: dst, Len: 74}}, "ntohs"), labs.Result{
		Name: "one event", Expected: expected, Hint: "ntohs",
		Observed: "2 events, none with these fields; the closest differs in Src=3.0.168.192:34475 (want 192.168.0.3:43910)",
	})
	check(t, EventSeen("one event", want, []tuple(nil), "h"), labs.Result{
		Name: "one event", Expected: expected, Observed: "no event", Hint: "h",
	})
	// A map names only the fields that matter; integers match by value.
	fields := map[string]any{"Dst": dst, "Len": 74}
	check(t, EventSeen("to 8888", fields, []tuple{{Src: swapped, Dst: dst, Len: 74}}, "h"), labs.Result{
		Name: "to 8888", Expected: "Dst=192.168.0.2:8888, Len=74", Observed: "Dst=192.168.0.2:8888, Len=74", Pass: true,
	})
	events := []map[string]any{{"pid": uint32(41), "comm": "xdplab"}, {"pid": uint32(42)}}
	check(t, EventSeen("own connect", map[string]any{"pid": 42, "comm": "xdplab"}, events, "h"), labs.Result{
		Name: "own connect", Expected: "comm=xdplab, pid=42", Hint: "h",
		Observed: "2 events, none with these fields; the closest differs in pid=41 (want 42)",
	})
	same(t, EventSeen("own connect", map[string]any{"pid": 42, "comm": "xdplab"}, events[1:], "h").Observed,
		"1 event, none with these fields; the closest differs in comm missing (want xdplab)")
}

// frame decodes a gopacket-built frame as a witness records it.
func frame(t *testing.T, out bool, typ uint8, src, dst netip.Addr, seq uint16) witness.Frame {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	data := testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 7, Seq: seq},
	)
	return witness.Frame{Out: out, Len: len(data), Data: data, Packet: packet.Decode(data)}
}

func TestFrameSequence(t *testing.T) {
	steps := []Step{
		EchoStep(true, packet.ICMPv4EchoRequest, hostAddr, node2Addr, 7, 1),
		EchoStep(false, packet.ICMPv4EchoRequest, node2Addr, hostAddr, 7, 1),
	}
	const expected = "out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1; in 192.168.1.5 > 192.168.0.3: ICMP echo request, id 7, seq 1"
	reqOut := frame(t, true, packet.ICMPv4EchoRequest, hostAddr, node2Addr, 1)
	reqIn := frame(t, false, packet.ICMPv4EchoRequest, node2Addr, hostAddr, 1)
	replyIn := frame(t, false, packet.ICMPv4EchoReply, node2Addr, hostAddr, 1)
	check(t, FrameSequence("reflected", steps, []witness.Frame{reqOut, replyIn, reqIn}, "h"), labs.Result{
		Name: "reflected", Expected: expected, Observed: expected, Pass: true,
	})
	check(t, FrameSequence("reflected", steps, []witness.Frame{reqOut, replyIn}, "swap the addresses"), labs.Result{
		Name: "reflected", Expected: expected, Hint: "swap the addresses",
		Observed: "out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1; then missing: in 192.168.1.5 > 192.168.0.3: ICMP echo request, id 7, seq 1 (1 frame came after: in 192.168.1.5 > 192.168.0.3: ICMP echo reply, id 7, seq 1)",
	})
	same(t, FrameSequence("reflected", steps, []witness.Frame{reqIn, reqOut}, "h").Observed,
		"out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1; then missing: in 192.168.1.5 > 192.168.0.3: ICMP echo request, id 7, seq 1 (no frame came after)")
	same(t, FrameSequence("reflected", steps, nil, "h").Observed,
		"missing: out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1 (the witness saw no frame)")
	same(t, FrameSequence("reflected", steps, []witness.Frame{replyIn, replyIn, replyIn, replyIn}, "h").Observed,
		"missing: out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1 (the witness saw 4 frames: "+
			"in 192.168.1.5 > 192.168.0.3: ICMP echo reply, id 7, seq 1; in 192.168.1.5 > 192.168.0.3: ICMP echo reply, id 7, seq 1; in 192.168.1.5 > 192.168.0.3: ICMP echo reply, id 7, seq 1; ...)")

	same := Step{Name: "the SYN", Match: SameFrame(reqOut.Data)}
	if r := FrameSequence("raw", []Step{same}, []witness.Frame{reqIn, reqOut}, "h"); !r.Pass {
		t.Errorf("SameFrame did not match the same bytes: %+v", r)
	}
}

// TestFrameSequences: two pings whose exchanges overlap each pass in
// their own order; the observed text of a missing step names the sequence
// it belongs to among the others.
func TestFrameSequences(t *testing.T) {
	exchange := func(seq uint16) []Step {
		return []Step{
			EchoStep(true, packet.ICMPv4EchoRequest, hostAddr, node2Addr, 7, seq),
			EchoStep(false, packet.ICMPv4EchoRequest, node2Addr, hostAddr, 7, seq),
		}
	}
	want := [][]Step{exchange(1), exchange(2)}
	out1 := frame(t, true, packet.ICMPv4EchoRequest, hostAddr, node2Addr, 1)
	in1 := frame(t, false, packet.ICMPv4EchoRequest, node2Addr, hostAddr, 1)
	out2 := frame(t, true, packet.ICMPv4EchoRequest, hostAddr, node2Addr, 2)
	in2 := frame(t, false, packet.ICMPv4EchoRequest, node2Addr, hostAddr, 2)
	const each = "request out, reflected request in"
	const expected = "2 of 2 (each: request out, reflected request in)"
	// The second request leaves before the first comes back.
	check(t, FrameSequences("reflected", each, want, []witness.Frame{out1, out2, in1, in2}, "h"), labs.Result{
		Name: "reflected", Expected: expected, Observed: "2 of 2", Pass: true,
	})
	check(t, FrameSequences("reflected", each, want, []witness.Frame{out1, out2, in1}, "swap"), labs.Result{
		Name: "reflected", Expected: expected, Hint: "swap",
		Observed: "1 of 2; the first incomplete: out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 2; " +
			"then missing: in 192.168.1.5 > 192.168.0.3: ICMP echo request, id 7, seq 2 (1 frame came after: in 192.168.1.5 > 192.168.0.3: ICMP echo request, id 7, seq 1)",
	})
	// Order still counts within a sequence.
	if r := FrameSequences("reflected", "", want, []witness.Frame{in1, in2, out1, out2}, "h"); r.Pass || r.Expected != "2 of 2" ||
		!strings.HasPrefix(r.Observed, "0 of 2; the first incomplete: out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1; then missing: in ") {
		t.Errorf("replies before requests: %+v", r)
	}
}

func TestNoFrames(t *testing.T) {
	check(t, NoFrames("node2 receives no ICMP", nil, "h"), labs.Result{Name: "node2 receives no ICMP", Expected: "no frame", Observed: "no frame", Pass: true})
	f := frame(t, false, packet.ICMPv4EchoRequest, hostAddr, node2Addr, 1)
	check(t, NoFrames("node2 receives no ICMP", []witness.Frame{f, f}, "redirect"), labs.Result{
		Name: "node2 receives no ICMP", Expected: "no frame", Hint: "redirect",
		Observed: "2 frames: in 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1; in 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1",
	})
}
