package icmpdrop

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// Live traffic shows what the program did; to say why, the check also
// runs the program itself on frames it built (BPF_PROG_TEST_RUN), the
// frames of the step's traffic and variations of them: every IPv4 protocol
// number, an EtherType written in the wrong byte order, an ARP request.
// A program has no state here (no maps), so its verdict on a frame is
// what it does to that frame on the interface.

// ipProtoOffset is where an IPv4 header's protocol byte is in a frame.
const ipProtoOffset = 14 + 9

// kind names a probe frame in the verdicts.
type kind int

const (
	request kind = iota
	reply
	unreachable
	udp
	tcp
	arp
	swapped // the echo request, its EtherType bytes swapped (0x0008)
	kinds
)

var kindNames = [kinds]string{"echo request", "echo reply", "port unreachable", "UDP", "TCP SYN", "ARP request", "echo request with EtherType 0x0008"}

// probes are the frames the check replays, by kind.
type probes [kinds][]byte

// frames builds the step's probes: what arrives at the program during the
// check. On lo every frame is node1's to itself, with the zero MAC
// addresses lo has; on veth1 they come from the host.
func (c *checker) frames() probes {
	srcMAC, dstMAC := net.HardwareAddr(c.sender.MAC), net.HardwareAddr(c.dut.MAC)
	src, dst := c.sender.Addr.Addr(), c.dut.Addr.Addr()
	if c.ex.iface == "lo" {
		srcMAC, dstMAC = make(net.HardwareAddr, 6), make(net.HardwareAddr, 6)
		src, dst = c.at.Addr.Addr(), c.at.Addr.Addr()
	}
	// The datagram of node1's that the port unreachable answers: its IP
	// header and first 8 bytes, as the error quotes them.
	dgram := must(packet.UDPFrame{SrcMAC: dstMAC, DstMAC: srcMAC,
		Src: netip.AddrPortFrom(dst, 40000), Dst: netip.AddrPortFrom(src, closedPort), Payload: make([]byte, udpPayload)}.Bytes())
	var p probes
	p[request] = must(packet.ICMPv4Frame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: src, Dst: dst,
		Type: packet.ICMPv4EchoRequest, ID: 0x786c, Seq: 1, Payload: make([]byte, 56)}.Bytes())
	p[reply] = must(packet.ICMPv4Frame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: src, Dst: dst,
		Type: packet.ICMPv4EchoReply, ID: 0x786c, Seq: 1, Payload: make([]byte, 56)}.Bytes())
	p[unreachable] = must(packet.ICMPv4Frame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: src, Dst: dst,
		Type: packet.ICMPv4Unreachable, Code: 3, Payload: dgram[14 : 14+28]}.Bytes())
	p[udp] = must(packet.UDPFrame{SrcMAC: srcMAC, DstMAC: dstMAC,
		Src: netip.AddrPortFrom(src, 40000), Dst: netip.AddrPortFrom(dst, udpPort), Payload: make([]byte, udpPayload)}.Bytes())
	p[tcp] = must(packet.TCPFrame{SrcMAC: srcMAC, DstMAC: dstMAC,
		Src: netip.AddrPortFrom(src, 43910), Dst: netip.AddrPortFrom(dst, tcpPort), Flags: packet.TCPSyn, Seq: 1, Window: 64240}.Bytes())
	p[arp] = must(packet.ARPFrame{SrcMAC: c.sender.MAC, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		Operation: packet.ARPRequest, SenderHW: c.sender.MAC, TargetHW: make(net.HardwareAddr, 6),
		SenderIP: c.sender.Addr.Addr(), TargetIP: c.dut.Addr.Addr()}.Bytes())
	p[swapped] = slices.Clone(p[request])
	p[swapped][12], p[swapped][13] = p[swapped][13], p[swapped][12]
	return p
}

// must is for frames built from the topology's own addresses, which are
// valid by construction (the topology was validated).
func must(b []byte, err error) []byte {
	if err != nil {
		panic(fmt.Sprintf("build a probe frame: %v", err))
	}
	return b
}

// verdicts are the program's actions on the probes and, for every IPv4
// protocol number, on the echo request carrying that number instead.
type verdicts struct {
	of        [kinds]grade.XDPAction
	protocols [256]grade.XDPAction
}

// replay runs the program attached at node1's interface on every probe.
// The error says why it could not run (nothing attached, the kernel
// refused the run).
func (c *checker) replay(p probes) (*verdicts, error) {
	frames := append([][]byte(nil), p[:]...)
	for proto := range 256 {
		f := slices.Clone(p[request])
		f[ipProtoOffset] = byte(proto)
		frames = append(frames, f)
	}
	got, err := grade.RunXDP(c.at, frames)
	if err != nil {
		return nil, err
	}
	v := &verdicts{}
	copy(v.of[:], got)
	copy(v.protocols[:], got[kinds:])
	return v, nil
}

// want is the action a step expects for each probe.
func (ex exercise) want(k kind) grade.XDPAction {
	switch {
	case k == request:
		return grade.XDPDrop
	case (k == reply || k == unreachable) && !ex.requestsOnly:
		return grade.XDPDrop
	}
	return grade.XDPPass
}

// stopped lists the protocol numbers whose frames the program did not pass.
func (v *verdicts) stopped() []int {
	var out []int
	for p, a := range v.protocols {
		if a != grade.XDPPass {
			out = append(out, p)
		}
	}
	return out
}

// protoList writes protocol numbers with their names, their action when it
// is not XDP_DROP: "1 (IPPROTO_ICMP)", "all 256", "all but 6 (IPPROTO_TCP)".
func (v *verdicts) protoList(protos []int) string {
	name := func(p int) string {
		s := fmt.Sprintf("%d (%s)", p, labs.IPProtoName(uint32(p)))
		if a := v.protocols[p]; a != grade.XDPDrop {
			s += " " + fmt.Sprint(a)
		}
		return s
	}
	var parts []string
	switch {
	case len(protos) == 0:
		return "none"
	case len(protos) == 256:
		return "all 256"
	case len(protos) > 128:
		for p := range 256 {
			if !slices.Contains(protos, p) {
				parts = append(parts, fmt.Sprintf("%d (%s)", p, labs.IPProtoName(uint32(p))))
			}
		}
		return "all but " + strings.Join(parts, ", ")
	}
	for _, p := range protos {
		parts = append(parts, name(p))
	}
	return strings.Join(parts, ", ")
}

// table writes the actions on the probes the step judges.
func (ex exercise) table(action func(kind) grade.XDPAction) string {
	var parts []string
	for k := range swapped {
		parts = append(parts, kindNames[k]+" "+fmt.Sprint(action(k)))
	}
	return strings.Join(parts, ", ")
}

// Names of the expectations the replay answers.
const (
	actionsName   = progName + "'s action on each kind of frame of the check (BPF_PROG_TEST_RUN)"
	protocolsName = "of the 256 IPv4 protocol numbers, only ICMP's is dropped"
)

// verdictResults are the expectations the replay answers: the program's
// action on each kind of frame of the step's traffic, and that ICMP is the
// one IPv4 protocol it drops. A program that could not be run (runErr)
// leaves them unchecked, with the reason.
func (ex exercise) verdictResults(v *verdicts, runErr error, d diagnosis) []labs.Result {
	want := ex.table(ex.want)
	icmpOnly := &verdicts{}
	icmpOnly.protocols[packet.ProtoICMPv4] = grade.XDPDrop
	protoWant := icmpOnly.protoList([]int{packet.ProtoICMPv4})
	if v == nil {
		why := fmt.Sprintf("%s could not be run on the check's frames: %v", progName, runErr)
		return []labs.Result{labs.Skip(actionsName, want, why), labs.Skip(protocolsName, protoWant, why)}
	}
	hint := ""
	for k := range swapped {
		if v.of[k] != ex.want(k) {
			hint = d.of[k]
			break
		}
	}
	protoHint := d.of[request]
	if v.protocols[packet.ProtoICMPv4] != grade.XDPPass {
		protoHint = d.others
	}
	return []labs.Result{
		labs.Expect(actionsName, want, ex.table(func(k kind) grade.XDPAction { return v.of[k] }), hint),
		labs.Expect(protocolsName, protoWant, v.protoList(v.stopped()), protoHint),
	}
}

// diagnosis holds the hints for each kind of frame that went wrong, and
// for other protocols dropped.
type diagnosis struct {
	of     [kinds]string
	others string
}

// diagnose reads the verdicts for the reason each kind of frame went
// wrong, and names the TODO of the step's starter where that is written.
// Without verdicts (the program could not be run) the hints say what the
// step asks, at the TODO that asks it.
func diagnose(ex exercise, v *verdicts) diagnosis {
	how := "find the IPv4 header" + ex.ipHeader + " and return XDP_DROP when iph->protocol is IPPROTO_ICMP" + ex.drop
	if ex.requestsOnly {
		how = "find the ICMP header after the IPv4 header" + ex.icmpHeader + " and return XDP_DROP when icmp->type is ICMP_ECHO (8)" + ex.drop
	}
	if v == nil {
		var d diagnosis
		d.of[request] = "the echo requests must be dropped: " + how
		for _, k := range []kind{reply, unreachable} {
			d.of[k] = "every ICMP message must be dropped, whatever its type: drop on iph->protocol == IPPROTO_ICMP alone" + ex.drop
			if ex.requestsOnly {
				d.of[k] = "echo replies and ICMP errors answer what node1 sent and must pass: drop icmp->type == ICMP_ECHO (8) only" + ex.drop
			}
		}
		for _, k := range []kind{udp, tcp, arp} {
			d.of[k] = progName + " must return XDP_PASS for every packet it does not drop" + ex.drop
		}
		d.others = d.of[udp]
		return d
	}
	return v.diagnose(ex, how)
}

func (v *verdicts) diagnose(ex exercise, how string) diagnosis {
	var d diagnosis
	stopped := v.stopped()
	var others []int // stopped protocols other than ICMP
	for _, p := range stopped {
		if p != packet.ProtoICMPv4 {
			others = append(others, p)
		}
	}
	action := func(k kind) string {
		return fmt.Sprintf("%s returns %s for the %s: ", progName, v.of[k], kindNames[k])
	}
	all := len(stopped) == 256

	// The echo request, which must be dropped.
	req := v.of[request]
	switch {
	case req == grade.XDPDrop:
	case req == grade.XDPAborted:
		d.of[request] = action(request) + "XDP_ABORTED (0) is the error exit: the frame is dropped, and the kernel traces an exception; return XDP_DROP (1)" + ex.drop
	case req != grade.XDPPass:
		d.of[request] = action(request) + "return XDP_DROP to drop it" + ex.drop
	case v.of[swapped] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops the echo request only when its EtherType bytes are swapped (0x0008): h_proto is in network byte order, so compare it with bpf_htons(ETH_P_IP), not ETH_P_IP%s",
			progName, ex.ipHeader)
	case !ex.requestsOnly && v.of[reply] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops echo replies but passes echo requests, so node1's stack gets every request and answers it: drop every ICMP packet, iph->protocol == IPPROTO_ICMP, whatever its ICMP type%s",
			progName, ex.drop)
	case ex.requestsOnly && v.of[reply] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops echo replies (type 0) and passes echo requests (type 8): compare icmp->type with ICMP_ECHO, the request%s", progName, ex.drop)
	case len(others) > 0:
		d.of[request] = fmt.Sprintf("%s drops protocol %s, not 1 (IPPROTO_ICMP): compare iph->protocol with IPPROTO_ICMP%s%s",
			progName, v.protoList(others), icmpv6Note(others), ex.drop)
	case ex.requestsOnly && v.of[unreachable] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops ICMP errors (the port unreachable, type 3) and passes echo requests: drop when icmp->type is ICMP_ECHO (8)%s", progName, ex.drop)
	default:
		d.of[request] = fmt.Sprintf("nothing is dropped: %s passes every frame; %s", progName, how)
	}

	// The rest: what the step drops with the request, and what it passes.
	for _, k := range []kind{reply, unreachable, udp, tcp, arp} {
		got, want := v.of[k], ex.want(k)
		switch {
		case got == want:
		case want == grade.XDPDrop && got == grade.XDPPass && req == grade.XDPDrop:
			d.of[k] = fmt.Sprintf("%s drops echo requests but passes the %s: every ICMP message must go, whatever its type; drop on iph->protocol == IPPROTO_ICMP alone%s",
				progName, kindNames[k], ex.drop)
		case want == grade.XDPDrop && got == grade.XDPPass:
			d.of[k] = d.of[request]
		case want == grade.XDPDrop:
			d.of[k] = action(k) + "return XDP_DROP to drop it" + ex.drop
		case got == grade.XDPAborted:
			d.of[k] = action(k) + "XDP_ABORTED (0) is the error exit, and it drops the frame: end with return XDP_PASS (2), not return 0" + ex.drop
		case got != grade.XDPDrop:
			d.of[k] = action(k) + "return XDP_PASS for every frame that is not dropped" + ex.drop
		case k == arp:
			d.of[k] = fmt.Sprintf("%s drops frames that are not IPv4 (an ARP request): return XDP_PASS when h_proto is not bpf_htons(ETH_P_IP); on a link without ARP, nobody reaches node1 at all%s",
				progName, ex.ipHeader)
		case all:
			d.of[k] = fmt.Sprintf("%s drops every IPv4 packet, whatever its protocol: return XDP_DROP only when iph->protocol is IPPROTO_ICMP, and XDP_PASS for the rest%s", progName, ex.drop)
		case k == udp || k == tcp:
			d.of[k] = fmt.Sprintf("%s drops protocol %s: drop ICMP (1) only%s", progName, v.protoList(others), ex.drop)
		case v.of[reply] != grade.XDPPass && v.of[unreachable] != grade.XDPPass:
			d.of[k] = fmt.Sprintf("%s drops every ICMP message: drop echo requests only (icmp->type == ICMP_ECHO); the replies and errors that come back answer what node1 sent%s", progName, ex.drop)
		case k == reply:
			d.of[k] = fmt.Sprintf("%s drops the echo replies too: drop icmp->type == ICMP_ECHO (8) only; compare the type, not icmp->code (0 for both)%s", progName, ex.drop)
		default:
			d.of[k] = fmt.Sprintf("%s drops ICMP errors (the port unreachable, type 3): drop echo requests only%s", progName, ex.drop)
		}
	}
	d.others = fmt.Sprintf("%s drops protocol %s too: drop ICMP (1) only%s", progName, v.protoList(others), ex.drop)
	if all {
		d.others = d.of[udp]
	}
	return d
}

// icmpv6Note explains the mistake of comparing with ICMPv6's number.
func icmpv6Note(protos []int) string {
	if slices.Contains(protos, packet.ProtoICMPv6) {
		return " (58 is ICMPv6, IPv6's own ICMP; IPv4's ICMP is 1)"
	}
	return ""
}
