package redirect

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func TestFormat(t *testing.T) {
	got := Format(Counts{fibSuccess: 6, resultRedirect: 6, fibNoNeigh: 1})
	want := "fib SUCCESS : 6\nfib NO_NEIGH : 1\nredirected : 6\n\n"
	if got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got := Format(Counts{}); got != "no ICMP seen yet\n\n" {
		t.Errorf("Format(empty) = %q", got)
	}
}

// TestExplain: each failure the program can count leads to a hint that
// names it, so a learner reads why nothing was reflected.
func TestExplain(t *testing.T) {
	cases := []struct {
		d      Counts
		native bool
		want   string
	}{
		{Counts{fibFwdDisabled: 3}, false, "fib lookup returned FWD_DISABLED 3 times: ip_forward is off in node1 (net.ipv4.ip_forward = 0 there)"},
		{Counts{fibNoNeigh: 1, fibSuccess: 4}, false, "fib lookup returned NO_NEIGH 1 times"},
		{Counts{fibNotFwded: 2}, false, "fib lookup returned NOT_FWDED"},
		{Counts{fibUnreachable: 1}, false, "UNREACHABLE 1"},
		{Counts{fibSuccess: 3, resultNoDevmap: 3}, false, "bpf_redirect_map found no entry"},
		{Counts{fibSuccess: 3, resultRedirect: 3}, true, "in native mode a veth takes redirected frames only when its peer runs an XDP program"},
		{Counts{fibSuccess: 3, resultRedirect: 3}, false, "copied into the Ethernet header"},
		{Counts{}, false, "made no fib lookup"},
	}
	for _, c := range cases {
		if got := explain(c.d, situation{instance: "xdplab", native: c.native, forward: "0"}); !strings.Contains(got, c.want) {
			t.Errorf("explain(%v, native=%v) = %q, want it to contain %q", c.d, c.native, got, c.want)
		}
	}
	if got := (situation{instance: "lab2"}).cmd("status"); got != "`xdplab status --instance lab2`" {
		t.Errorf("cmd = %q", got)
	}
	if got := (Counts{fibFwdDisabled: 2, resultRedirect: 1}).Failures(); got != "FWD_DISABLED 2" {
		t.Errorf("Failures = %q", got)
	}
}

func TestDevmapFits(t *testing.T) {
	if err := devmapFits(ebpf.DevMapHash, 64, 100000); err != nil {
		t.Errorf("DEVMAP_HASH refused a large ifindex: %v", err)
	}
	if err := devmapFits(ebpf.DevMap, 1024, 1023); err != nil {
		t.Errorf("DEVMAP(1024) refused ifindex 1023: %v", err)
	}
	err := devmapFits(ebpf.DevMap, 1, 2)
	if !errors.Is(err, ErrIfindexTooLarge) || !strings.Contains(err.Error(), "max_entries 1") {
		t.Errorf("DEVMAP(1) with ifindex 2: %v", err)
	}
}

func TestCheckValueSize(t *testing.T) {
	for size, ok := range map[uint32]bool{4: true, 8: true, 2: false, 16: false} {
		err := checkValueSize(&ebpf.MapSpec{Name: mapRedirect, ValueSize: size})
		if (err == nil) != ok {
			t.Errorf("value size %d: %v", size, err)
		}
	}
}

func TestParseICMP(t *testing.T) {
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.IP{192, 168, 1, 5}, DstIP: net.IP{192, 168, 0, 3}},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 77, Seq: 2})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := parseICMP(buf.Bytes())
	want := frame{Src: netip.MustParseAddr("192.168.1.5"), Dst: netip.MustParseAddr("192.168.0.3"), Type: 8, ID: 77, Seq: 2}
	if !ok || f != want {
		t.Errorf("parseICMP = %+v, %v; want %+v", f, ok, want)
	}
	if _, ok := parseICMP(buf.Bytes()[:20]); ok {
		t.Error("parsed a truncated frame")
	}
	if got := f.String(); got != "in  192.168.1.5 > 192.168.0.3 echo request id 77 seq 2" {
		t.Errorf("String = %q", got)
	}
}

func TestGuide(t *testing.T) {
	g := New().Info().Guide
	for _, want := range []string{"tcpdump", "192.168.1.5 > 192.168.0.3: ICMP echo request"} {
		if !strings.Contains(g, want) {
			t.Errorf("guide lacks %q", want)
		}
	}
}
