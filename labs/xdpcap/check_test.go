package xdpcap

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs/grade"
)

var (
	hostAddr  = netip.MustParseAddr("192.168.0.3")
	node1Addr = netip.MustParseAddr("192.168.0.2")
)

func datagram(t *testing.T, port uint16) []byte {
	t.Helper()
	b, err := packet.UDPFrame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: netip.AddrPortFrom(hostAddr, 40000), Dst: netip.AddrPortFrom(node1Addr, port), Payload: make([]byte, 32)}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func request(t *testing.T) []byte {
	t.Helper()
	b, err := packet.ICMPv4Frame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: hostAddr, Dst: node1Addr, Type: packet.ICMPv4EchoRequest, ID: 0x1234, Seq: 1, Payload: []byte("0123456789abcdef0123456789abcdef0123456789abcdef01234567")}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReplyProblem: a reply the tx step's program got wrong is described
// by its first wrong field; the right reply, with its checksum written
// either way (0x0000 and 0xffff are the same), is not.
func TestReplyProblem(t *testing.T) {
	req := request(t)
	want, ok := replyTo(req)
	if !ok {
		t.Fatal("replyTo refused an echo request")
	}
	if p := replyProblem(req, want, want); p != "" {
		t.Errorf("the right reply: %s", p)
	}
	if f := packet.Decode(want); f.ICMPv4.Type != 0 || f.IPv4.Src != node1Addr || f.IPv4.Dst != hostAddr ||
		f.Ethernet.Dst.String() != srcMAC.String() || packet.Checksum(f.IPv4.Payload) != 0 || packet.Checksum(want[14:34]) != 0 {
		t.Errorf("replyTo made %s, %+v", f.Summary(), f.ICMPv4)
	}
	icmp := 14 + 20
	edit := func(change func(b []byte)) []byte {
		b := append([]byte(nil), want...)
		change(b)
		return b
	}
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"MACs not swapped", edit(func(b []byte) { copy(b[0:12], req[0:12]) }), "swap eth->h_source and eth->h_dest"},
		{"addresses not swapped", edit(func(b []byte) { copy(b[26:34], req[26:34]) }), "swap ip->saddr and ip->daddr"},
		{"type left", edit(func(b []byte) { b[icmp] = 8 }), "set icmp->type to ICMP_ECHOREPLY"},
		{"checksum left", edit(func(b []byte) { copy(b[icmp+2:icmp+4], req[icmp+2:icmp+4]) }), "still the request's"},
		{"checksum byte-swapped", edit(func(b []byte) { b[icmp+2], b[icmp+3] = b[icmp+3], b[icmp+2] }), "with its bytes swapped"},
		{"ttl changed", edit(func(b []byte) { b[22]-- }), "its TTL is 63, want 64"},
		{"ip checksum broken", edit(func(b []byte) { b[24] ^= 1 }), "IP header checksum"},
		{"payload changed", edit(func(b []byte) {
			b[icmp+8] ^= 0xff
			binary.BigEndian.PutUint16(b[icmp+2:], 0)
			binary.BigEndian.PutUint16(b[icmp+2:], packet.Checksum(b[icmp:]))
		}), "byte 42 of the frame"},
	} {
		if p := replyProblem(req, c.got, want); !strings.Contains(p, c.want) {
			t.Errorf("%s: %q, want it to say %q", c.name, p, c.want)
		}
	}
	// A reply whose checksum is 0x0000 may as well carry 0xffff, the same
	// sum: make the request's payload such that its reply's is 0.
	req0 := append([]byte(nil), req...)
	c := uint32(binary.BigEndian.Uint16(want[icmp+2:]))
	w := uint32(binary.BigEndian.Uint16(req0[icmp+8:])) + c
	binary.BigEndian.PutUint16(req0[icmp+8:], uint16(w+w>>16))
	binary.BigEndian.PutUint16(req0[icmp+2:], 0)
	binary.BigEndian.PutUint16(req0[icmp+2:], packet.Checksum(req0[icmp:]))
	want0, _ := replyTo(req0)
	if cs := binary.BigEndian.Uint16(want0[icmp+2:]); cs != 0 {
		t.Fatalf("the reply's checksum is %#04x, want 0 for this case", cs)
	}
	ffff := append([]byte(nil), want0...)
	binary.BigEndian.PutUint16(ffff[icmp+2:], 0xffff)
	if p := replyProblem(req0, ffff, want0); p != "" {
		t.Errorf("the right reply with checksum 0xffff for 0x0000: %s", p)
	}
}

// hooked is a hook capture of frames, each under its action.
func hooked(m mix, frames map[capture.Action][][]byte) *hookSeen {
	var c captured
	for a, fs := range frames {
		for _, f := range fs {
			c.packets = append(c.packets, capture.Packet{Action: a, Data: f})
		}
	}
	return &hookSeen{m: m, got: c}
}

func past(frames ...[]byte) []witness.Frame {
	var out []witness.Frame
	for _, f := range frames {
		out = append(out, witness.Frame{Data: f, Packet: packet.Decode(f)})
	}
	return out
}

func repeat(f []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// TestDropHint: the hint about the datagrams to port 9 follows the
// evidence of both phases, and names the TODO of the step's starter.
func TestDropHint(t *testing.T) {
	to9, to2304 := datagram(t, dropPort), datagram(t, swappedPort)
	ok := mix{passed: grade.Delivered{Count: datagrams, Arrived: datagrams}, swapped: grade.Delivered{Count: swapped, Arrived: swapped}}
	lost2304 := ok
	lost2304.swapped.Arrived = 0
	for _, c := range []struct {
		name  string
		step  string
		alone *aloneSeen
		hook  map[capture.Action][][]byte
		want  string
	}{
		{"verdict without return", "", &aloneSeen{m: ok, past: past(to9)}, map[capture.Action][][]byte{capture.Drop: repeat(to9, 5)},
			"not `xdpcap_exit(...);` alone (TODO 2 in xdpcap.c)"},
		{"slot of XDP_PASS", "", &aloneSeen{m: ok}, map[capture.Action][][]byte{capture.Pass: repeat(to9, 5)},
			"the hook's slot index must be the verdict itself"},
		{"byte order", "", &aloneSeen{m: lost2304, past: past(to9)}, map[capture.Action][][]byte{capture.Pass: repeat(to9, 5), capture.Drop: repeat(to2304, 2)},
			"(9 with its bytes swapped) were dropped instead: compare udp->dest with bpf_htons(9), in network byte order (TODO 1 in xdpcap.c)"},
		{"not dropped", "", &aloneSeen{m: ok, past: past(to9)}, map[capture.Action][][]byte{capture.Pass: repeat(to9, 5)},
			"they are not dropped"},
		{"aborted", "", &aloneSeen{m: ok}, map[capture.Action][][]byte{capture.Aborted: repeat(to9, 5)},
			"went to XDP_ABORTED: XDP_ABORTED is action 0"},
		{"aborted in the chain", stepChain, &aloneSeen{m: ok}, map[capture.Action][][]byte{capture.Aborted: repeat(to9, 5)},
			"the tail call failed, check the slot index and the map: xdp_discard must call bpf_tail_call(ctx, &jmp_table, 0), the slot where up puts xdp_udp, and only a failed tail call returns XDP_ABORTED (TODO 1 in xdpcap.c)"},
		{"dropped out of sight", "", &aloneSeen{m: ok}, nil,
			"no hook slot saw the UDP datagrams to port 9: the program returned its verdict without xdpcap_exit"},
		{"dropped out of sight in xdp_udp", stepChain, &aloneSeen{m: ok}, nil, "in xdp_udp too (TODO 2 in xdpcap.c)"},
	} {
		c0 := &checker{ex: exercises[c.step], alone: c.alone, hooked: hooked(ok, c.hook)}
		if got := c0.dropHint(); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q\nwant it to say %q", c.name, got, c.want)
		}
	}
}

// TestUnchainedHint: with jmp_table's slot empty, what the UDP datagrams
// did says what xdp_discard gets wrong.
func TestUnchainedHint(t *testing.T) {
	to9, to7777 := datagram(t, dropPort), datagram(t, passPort)
	pinged := grade.Pinged{PingResult: traffic.PingResult{ID: 0x1234}}
	for _, c := range []struct {
		name string
		hook map[capture.Action][][]byte
		want string
	}{
		{"decides itself", map[capture.Action][][]byte{capture.Drop: repeat(to9, 2), capture.Pass: repeat(to7777, 2)}, "xdp_discard decides UDP itself"},
		{"passes on failure", map[capture.Action][][]byte{capture.Pass: append(repeat(to9, 2), repeat(to7777, 2)...)}, "not pass the datagram (TODO 1 in xdpcap.c)"},
		{"plain return", nil, "no hook slot saw the UDP datagrams"},
	} {
		un := hooked(mix{pinged: pinged}, c.hook)
		ch := &checker{ex: exercises[stepChain], unchained: &unchainedSeen{pinged: pinged, got: un.got},
			hooked: hooked(mix{pinged: pinged}, map[capture.Action][][]byte{capture.Drop: repeat(to9, 5)})}
		r := ch.judgeUnchained()
		if r[0].Pass || !strings.Contains(r[0].Hint, c.want) {
			t.Errorf("%s: %+v\nwant a failure whose hint says %q", c.name, r[0], c.want)
		}
	}
	ok := &checker{ex: exercises[stepChain], unchained: &unchainedSeen{pinged: pinged,
		got: hooked(mix{}, map[capture.Action][][]byte{capture.Aborted: append(repeat(to9, 2), repeat(to7777, 2)...), capture.Pass: repeat(request(t), 3)}).got}}
	for _, r := range ok.judgeUnchained() {
		if !r.Pass {
			t.Errorf("the step's own behaviour fails: %+v", r)
		}
	}
}
