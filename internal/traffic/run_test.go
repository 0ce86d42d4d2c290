package traffic

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/ipv4"
)

func TestRunRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		kind, to string
		count    int
		want     string
	}{
		{"ping", "192.168.0.2:80", 1, `--to "192.168.0.2:80": want ADDR for ping, ADDR:PORT for tcp and udp`},
		{"tcp", "192.168.0.2", 1, `--to "192.168.0.2": want ADDR for ping, ADDR:PORT for tcp and udp`},
		{"udp", "node1:9", 1, `--to "node1:9": want ADDR for ping, ADDR:PORT for tcp and udp`},
		{"ping", "", 1, `--to "": want ADDR for ping`},
		{"ping", "::1", 1, `--to "::1": only IPv4 addresses are supported`},
		{"udp", "[::1]:9", 1, `--to "[::1]:9": only IPv4 addresses are supported`},
		{"tcp", "192.168.0.2:0", 1, `--to "192.168.0.2:0": port 0 is not a destination`},
		{"http", "192.168.0.2", 1, `unknown traffic kind "http": want ping, tcp or udp`},
		{"ping", "192.168.0.2", -1, `-c -1: want a count of at least 1`},
		{"ping", "192.168.0.2", 0, `-c 0: want a count of at least 1 (the default is 3)`},
		{"tcp", "192.168.0.2:8888", 0, `-c 0: want a count of at least 1`},
		{"udp", "192.168.0.2:9", 0, `-c 0: want a count of at least 1`},
	} {
		// A nil namespace proves the arguments are checked before any is used.
		err := Run(context.Background(), nil, tc.kind, tc.to, tc.count, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%s, %q, %d) = %v, want error containing %q", tc.kind, tc.to, tc.count, err, tc.want)
		}
		if !errors.Is(err, ErrUsage) {
			t.Errorf("Run(%s, %q): %v is not ErrUsage", tc.kind, tc.to, err)
		}
		if cerr := CheckRequest(tc.kind, tc.to, tc.count); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("CheckRequest(%s, %q, %d) = %v, want what Run says: %v", tc.kind, tc.to, tc.count, cerr, err)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct{ kind, to, want string }{
		{"ping", "192.168.0.2", "192.168.0.2:0"},
		{"ping", "::ffff:192.168.0.2", "192.168.0.2:0"},
		{"tcp", "192.168.0.2:8888", "192.168.0.2:8888"},
		{"udp", "127.0.0.1:9", "127.0.0.1:9"},
	} {
		got, err := parseTarget(tc.kind, tc.to)
		if err != nil || got.String() != tc.want {
			t.Errorf("parseTarget(%s, %q) = %v, %v, want %s", tc.kind, tc.to, got, err, tc.want)
		}
	}
}

// icmpPacket builds an IPv4 packet carrying an ICMP message, as a raw socket
// reads it.
func icmpPacket(t *testing.T, src, dst string, typ, code uint8, id, seq uint16, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4,
		SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: id, Seq: seq}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, ic, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPingSortsWhatArrives(t *testing.T) {
	const id = 4242
	dst := netip.MustParseAddr("192.168.1.5")
	p := &pinger{res: &PingResult{Dst: dst, ID: id}, sentAt: map[int]time.Time{}}
	sent := time.Now()
	p.sentAt[1], p.sentAt[2] = sent, sent
	data := make([]byte, 56)
	request := icmpPacket(t, "192.168.0.3", "192.168.1.5", 8, 0, id, 2, data)
	at := sent.Add(time.Millisecond)
	for _, b := range [][]byte{
		icmpPacket(t, "192.168.1.5", "192.168.0.3", 0, 0, id, 1, data),   // reply
		icmpPacket(t, "192.168.1.5", "192.168.0.3", 0, 0, id, 1, data),   // duplicate
		icmpPacket(t, "192.168.1.5", "192.168.0.3", 0, 0, id+1, 2, data), // someone else's ping
		icmpPacket(t, "192.168.1.5", "192.168.0.3", 8, 0, id, 2, data),   // our request reflected
		request, // our own request looped back (local destination)
		icmpPacket(t, "192.168.0.2", "192.168.0.3", 3, 1, 0, 0, request[:28]), // host unreachable quoting it
		icmpPacket(t, "192.168.0.2", "192.168.0.3", 3, 3, 0, 0, nil)[:20],     // truncated: ignored
	} {
		p.handle(b, at)
	}
	r := p.res
	if r.Received != 1 || len(r.Replies) != 1 || r.Replies[0].Seq != 1 || r.RTTs[0] != time.Millisecond {
		t.Errorf("replies %+v rtts %v, want seq 1 after 1ms", r.Replies, r.RTTs)
	}
	if e := r.Replies[0]; e.Len != 84 || e.PayloadLen != 56 || e.TTL != 64 || e.From != dst {
		t.Errorf("reply %+v, want 84 bytes, 56 of data, ttl 64, from %s", e, dst)
	}
	if len(r.Requests) != 1 || r.Requests[0].From != dst || r.Requests[0].Seq != 2 || r.Requests[0].Type != ipv4.ICMPTypeEcho {
		t.Errorf("requests %+v, want the reflected seq 2 from %s", r.Requests, dst)
	}
	if len(r.Other) != 2 || r.Other[0].Type != ipv4.ICMPTypeEchoReply ||
		r.Other[1].Type != ipv4.ICMPTypeDestinationUnreachable || r.Other[1].Code != 1 || r.Other[1].Seq != 2 {
		t.Errorf("other %+v, want the duplicate and a host unreachable for seq 2", r.Other)
	}
}

func TestRTTStats(t *testing.T) {
	lo, avg, hi, mdev := rttStats([]time.Duration{time.Millisecond, 3 * time.Millisecond})
	if lo != time.Millisecond || avg != 2*time.Millisecond || hi != 3*time.Millisecond || mdev != time.Millisecond {
		t.Errorf("rttStats = %v %v %v %v", lo, avg, hi, mdev)
	}
	if got := formatMS(52 * time.Microsecond); got != "0.052" {
		t.Errorf("formatMS = %s", got)
	}
}
