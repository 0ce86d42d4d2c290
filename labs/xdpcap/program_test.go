package xdpcap

import (
	"net"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/xdplab/xdplab/internal/testutils"
)

const (
	xdpDrop = 1
	xdpPass = 2
)

var (
	srcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	dstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

func ipv4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP{192, 168, 0, 3}, DstIP: net.IP{192, 168, 0, 2}}
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: t}
}

func udpFrame(t testing.TB, ip *layers.IPv4, dport layers.UDPPort) []byte {
	udp := &layers.UDP{SrcPort: 40000, DstPort: dport}
	udp.SetNetworkLayerForChecksum(ip)
	return testutils.Serialize(t, eth(layers.EthernetTypeIPv4), ip, udp, gopacket.Payload(make([]byte, 18)))
}

func loadForTest(t testing.TB) (*ebpf.Program, *ebpf.Map) {
	t.Helper()
	prog, hook, err := LoadProgram()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close(); hook.Close() })
	return prog, hook
}

// testFrames are the cases of TestProgram: what arrives and what the program
// must decide.
func testFrames(t testing.TB) []struct {
	name  string
	frame []byte
	want  uint32
} {
	withOptions := ipv4(layers.IPProtocolUDP)
	withOptions.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}} // NOP NOP NOP EOL: ihl 6
	fragment := ipv4(layers.IPProtocolUDP)
	fragment.FragOffset = 100 // a later fragment: "port 9" there is payload
	icmp := testutils.Serialize(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1},
		gopacket.Payload(make([]byte, 56)))
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 9, SYN: true, Window: 64240}
	tcpIP := ipv4(layers.IPProtocolTCP)
	tcp.SetNetworkLayerForChecksum(tcpIP)
	arp := testutils.Serialize(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: srcMAC, SourceProtAddress: []byte{192, 168, 0, 3},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 168, 0, 2}})
	udp9 := udpFrame(t, ipv4(layers.IPProtocolUDP), 9)
	return []struct {
		name  string
		frame []byte
		want  uint32
	}{
		{"udp to port 9 is dropped", udp9, xdpDrop},
		{"udp to port 7777 passes", udpFrame(t, ipv4(layers.IPProtocolUDP), 7777), xdpPass},
		{"udp to port 9 behind ip options is dropped", udpFrame(t, withOptions, 9), xdpDrop},
		{"a later fragment passes", udpFrame(t, fragment, 9), xdpPass},
		{"tcp to port 9 passes", testutils.Serialize(t, eth(layers.EthernetTypeIPv4), tcpIP, tcp), xdpPass},
		{"icmp passes", icmp, xdpPass},
		{"arp passes", arp, xdpPass},
		{"udp header cut off passes", udp9[:14+20+4], xdpPass},
	}
}

// TestProgram runs the lab program on crafted frames with BPF_PROG_TEST_RUN,
// hook empty: xdpcap_exit must then return the action itself.
func TestProgram(t *testing.T) {
	testutils.RequirePrivileged(t)
	prog, _ := loadForTest(t)
	for _, c := range testFrames(t) {
		t.Run(c.name, func(t *testing.T) {
			ret, err := prog.Run(&ebpf.RunOptions{Data: c.frame})
			if err != nil {
				t.Fatal(err)
			}
			if ret != c.want {
				t.Errorf("returned %d, want %d", ret, c.want)
			}
		})
	}
}

// TestHookABI checks xdpcap's ABI: with a program in slot [action], the lab
// program tail-calls it, and what that program returns is the verdict.
func TestHookABI(t *testing.T) {
	testutils.RequirePrivileged(t)
	prog, hook := loadForTest(t)
	marker := func(ret int32) *ebpf.Program {
		p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type: ebpf.XDP, AttachType: ebpf.AttachXDP, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, ret), asm.Return()},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	if err := hook.Put(uint32(xdpDrop), marker(100+xdpDrop)); err != nil {
		t.Fatal(err)
	}
	if err := hook.Put(uint32(xdpPass), marker(100+xdpPass)); err != nil {
		t.Fatal(err)
	}
	for _, c := range testFrames(t) {
		ret, err := prog.Run(&ebpf.RunOptions{Data: c.frame})
		if err != nil {
			t.Fatal(err)
		}
		if ret != 100+c.want {
			t.Errorf("%s: returned %d, want %d from the program in hook slot %d", c.name, ret, 100+c.want, c.want)
		}
	}
	// Emptied again, the slot is skipped.
	if err := hook.Delete(uint32(xdpDrop)); err != nil {
		t.Fatal(err)
	}
	if ret, _ := prog.Run(&ebpf.RunOptions{Data: udpFrame(t, ipv4(layers.IPProtocolUDP), 9)}); ret != xdpDrop {
		t.Errorf("empty slot: returned %d, want %d", ret, xdpDrop)
	}
}

// BenchmarkProgram reports the program's cost per packet, hook empty (the
// cost every packet pays when nobody captures).
func BenchmarkProgram(b *testing.B) {
	testutils.RequirePrivileged(b)
	prog, _ := loadForTest(b)
	f := udpFrame(b, ipv4(layers.IPProtocolUDP), 9)
	testutils.BenchmarkPackets(b, prog, f)
}

const (
	xdpAborted = 0
	xdpTX      = 3
)

// echoFrame is an ICMP message from the host to node1: an echo request
// (typ 8) with ping(8)'s payload, or another type.
func echoFrame(t testing.TB, typ uint8, ip *layers.IPv4) []byte {
	payload := make([]byte, 56)
	for i := range payload {
		payload[i] = byte(i)
	}
	return testutils.Serialize(t, eth(layers.EthernetTypeIPv4), ip,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 0x1234, Seq: 7}, gopacket.Payload(payload))
}

// TestStepPrograms runs each step's own program on crafted frames with
// BPF_PROG_TEST_RUN, hook empty.
func TestStepPrograms(t *testing.T) {
	testutils.RequirePrivileged(t)
	t.Run("chain", func(t *testing.T) {
		var objs xdpcapChainObjects
		if err := loadXdpcapChainObjects(&objs, nil); err != nil {
			t.Fatal(err)
		}
		defer objs.Close()
		// With xdp_udp in its slot, the pair decides as the base
		// program does.
		if err := objs.JmpTable.Put(uint32(chainSlot), objs.XdpUdp); err != nil {
			t.Fatal(err)
		}
		for _, c := range testFrames(t) {
			if ret, err := objs.XdpDiscard.Run(&ebpf.RunOptions{Data: c.frame}); err != nil || ret != c.want {
				t.Errorf("%s: returned %d (%v), want %d", c.name, ret, err, c.want)
			}
		}
		// With the slot empty, the tail call fails: UDP is aborted,
		// the rest still passes.
		if err := objs.JmpTable.Delete(uint32(chainSlot)); err != nil {
			t.Fatal(err)
		}
		for _, c := range testFrames(t) {
			want := uint32(xdpPass)
			if carriesUDP(c.frame) {
				want = xdpAborted
			}
			if ret, err := objs.XdpDiscard.Run(&ebpf.RunOptions{Data: c.frame}); err != nil || ret != want {
				t.Errorf("slot empty, %s: returned %d (%v), want %d", c.name, ret, err, want)
			}
		}
	})
	t.Run("tx", func(t *testing.T) {
		var objs xdpcapTXObjects
		if err := loadXdpcapTXObjects(&objs, nil); err != nil {
			t.Fatal(err)
		}
		defer objs.Close()
		for _, c := range testFrames(t) {
			want := c.want
			if c.name == "icmp passes" {
				continue // answered, below
			}
			if ret, err := objs.XdpDiscard.Run(&ebpf.RunOptions{Data: c.frame}); err != nil || ret != want {
				t.Errorf("%s: returned %d (%v), want %d", c.name, ret, err, want)
			}
		}
		req := echoFrame(t, 8, ipv4(layers.IPProtocolICMPv4))
		out := make([]byte, len(req))
		ret, err := objs.XdpDiscard.Run(&ebpf.RunOptions{Data: req, DataOut: out})
		if err != nil || ret != xdpTX {
			t.Fatalf("echo request: returned %d (%v), want XDP_TX", ret, err)
		}
		want, _ := replyTo(req)
		if p := replyProblem(req, out, want); p != "" {
			t.Errorf("echo request: the frame sent back is not its reply: %s", p)
		}
		fragment := ipv4(layers.IPProtocolICMPv4)
		fragment.Flags = layers.IPv4MoreFragments
		for name, f := range map[string][]byte{
			"echo reply":               echoFrame(t, 0, ipv4(layers.IPProtocolICMPv4)),
			"timestamp request":        echoFrame(t, 13, ipv4(layers.IPProtocolICMPv4)),
			"first fragment of a ping": echoFrame(t, 8, fragment),
		} {
			if ret, err := objs.XdpDiscard.Run(&ebpf.RunOptions{Data: f}); err != nil || ret != xdpPass {
				t.Errorf("%s: returned %d (%v), want XDP_PASS", name, ret, err)
			}
		}
	})
}

// carriesUDP reports whether a frame's IPv4 header says UDP, as the chain
// step's xdp_discard reads it before handing the frame over.
func carriesUDP(frame []byte) bool {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	return ip != nil && ip.Protocol == layers.IPProtocolUDP
}
