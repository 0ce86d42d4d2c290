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
// number, every ICMP type, an IPv4 header with options, IPv6 frames, an
// EtherType written in the wrong byte order, an ARP request.
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
	// optioned is the echo request with 4 bytes of IPv4 options (three
	// NOPs and an end of list, ihl 6), as ping -R sends options: its ICMP
	// header is not right after 20 bytes.
	optioned
	udp
	tcp
	arp
	// icmp6 is an ICMPv6 echo request between link-local addresses.
	icmp6
	// udp6 is a UDP datagram over IPv6 from 2001:db8::3: its byte 23, where
	// an IPv4 header has its protocol, is 1 (the address's second byte).
	udp6
	swapped // the echo request, its EtherType bytes swapped (0x0008)
	// early is the UDP datagram with 1 in byte 9, a byte of the source MAC
	// address, where an IPv4 header read from the frame's start has its
	// protocol.
	early
	kinds
)

var kindNames = [kinds]string{"echo request", "echo reply", "port unreachable", "echo request with IP options",
	"UDP", "TCP SYN", "ARP request", "ICMPv6 echo request", "UDP over IPv6", "echo request with EtherType 0x0008", "UDP with 1 in byte 9"}

// IPv6 addresses of the IPv6 probes: documentation and link-local
// prefixes, which no lab routes.
var (
	icmp6Src, icmp6Dst = netip.MustParseAddr("fe80::3"), netip.MustParseAddr("fe80::2")
	udp6Src, udp6Dst   = netip.MustParseAddr("2001:db8::3"), netip.MustParseAddr("2001:db8::2")
)

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
	p[optioned] = must(packet.ICMPv4Frame{SrcMAC: srcMAC, DstMAC: dstMAC, Src: src, Dst: dst,
		Type: packet.ICMPv4EchoRequest, ID: 0x786c, Seq: 1, IPOptions: []byte{1, 1, 1, 0}, Payload: make([]byte, 56)}.Bytes())
	p[icmp6] = must(packet.ICMPv6Echo{SrcMAC: srcMAC, DstMAC: dstMAC, Src: icmp6Src, Dst: icmp6Dst,
		ID: 0x786c, Seq: 1, Payload: make([]byte, 56)}.Bytes())
	p[udp6] = must(packet.UDPFrame{SrcMAC: srcMAC, DstMAC: dstMAC,
		Src: netip.AddrPortFrom(udp6Src, 40000), Dst: netip.AddrPortFrom(udp6Dst, udpPort), Payload: make([]byte, udpPayload)}.Bytes())
	p[swapped] = slices.Clone(p[request])
	p[swapped][12], p[swapped][13] = p[swapped][13], p[swapped][12]
	p[early] = slices.Clone(p[udp])
	p[early][9] = 1
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

// verdicts are the program's actions on the probes, on the echo request
// carrying each IPv4 protocol number instead of ICMP's, and on the echo
// request carrying each ICMP type instead of 8.
type verdicts struct {
	of        [kinds]grade.XDPAction
	protocols [256]grade.XDPAction
	types     [256]grade.XDPAction
}

// icmpTypeOffset is where the ICMP type is in a frame whose IPv4 header
// has no options.
const icmpTypeOffset = 14 + 20

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
	for typ := range 256 {
		f := slices.Clone(p[request])
		f[icmpTypeOffset] = byte(typ)
		frames = append(frames, f)
	}
	got, err := grade.RunXDP(c.at, frames)
	if err != nil {
		return nil, err
	}
	v := &verdicts{}
	copy(v.of[:], got)
	copy(v.protocols[:], got[kinds:])
	copy(v.types[:], got[kinds+256:])
	return v, nil
}

// want is the action a step expects for each probe.
func (ex exercise) want(k kind) grade.XDPAction {
	switch {
	case k == request || k == optioned:
		return grade.XDPDrop
	case (k == reply || k == unreachable) && !ex.requestsOnly:
		return grade.XDPDrop
	}
	return grade.XDPPass
}

// wantType is the action a step expects for an ICMP message of type typ.
func (ex exercise) wantType(typ int) grade.XDPAction {
	if ex.requestsOnly && typ != icmpEcho {
		return grade.XDPPass
	}
	return grade.XDPDrop
}

// ICMP types the hints name.
const (
	icmpEchoReply = 0
	icmpEcho      = 8
	icmpv6Echo    = 128 // ICMPv6's echo request, which IPv4's ICMP does not have
)

// notPassed lists the numbers whose frames got another action than
// XDP_PASS.
func notPassed(actions *[256]grade.XDPAction) []int {
	var out []int
	for n, a := range actions {
		if a != grade.XDPPass {
			out = append(out, n)
		}
	}
	return out
}

// stopped lists the protocol numbers whose frames the program did not pass.
func (v *verdicts) stopped() []int { return notPassed(&v.protocols) }

// numberList writes numbers with their names, and their action when it is
// not XDP_DROP: "1 (IPPROTO_ICMP)", "all 256", "all but 6 (IPPROTO_TCP)".
func numberList(nums []int, actions *[256]grade.XDPAction, name func(int) string) string {
	item := func(n int) string {
		s := fmt.Sprintf("%d (%s)", n, name(n))
		if a := actions[n]; a != grade.XDPDrop {
			s += " " + fmt.Sprint(a)
		}
		return s
	}
	var parts []string
	switch {
	case len(nums) == 0:
		return "none"
	case len(nums) == 256:
		return "all 256"
	case len(nums) > 128:
		for n := range 256 {
			if !slices.Contains(nums, n) {
				parts = append(parts, fmt.Sprintf("%d (%s)", n, name(n)))
			}
		}
		return "all but " + strings.Join(parts, ", ")
	}
	for _, n := range nums {
		parts = append(parts, item(n))
	}
	return strings.Join(parts, ", ")
}

// protoList writes IPv4 protocol numbers with their names.
func (v *verdicts) protoList(protos []int) string {
	return numberList(protos, &v.protocols, func(p int) string { return labs.IPProtoName(uint32(p)) })
}

// typeList writes ICMP types with their names.
func (v *verdicts) typeList(types []int) string {
	return numberList(types, &v.types, icmpTypeName)
}

// icmpTypeName names the ICMP types a learner meets here.
func icmpTypeName(t int) string {
	switch t {
	case icmpEchoReply:
		return "echo reply"
	case 3:
		return "destination unreachable"
	case icmpEcho:
		return "echo request"
	case 11:
		return "time exceeded"
	case icmpv6Echo:
		return "ICMPv6's echo request number"
	}
	return "type " + fmt.Sprint(t)
}

// table writes the actions on the probes the step judges: the ones before
// swapped; the rest only tell why.
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

// typesName is the expectation on the ICMP types: every one dropped, or
// the echo request's alone.
func (ex exercise) typesName() string {
	if ex.requestsOnly {
		return "of the 256 ICMP types, only the echo request's (8) is dropped"
	}
	return "every ICMP type is dropped, not only the echo request's"
}

// verdictResults are the expectations the replay answers: the program's
// action on each kind of frame of the step's traffic, that ICMP is the
// one IPv4 protocol it drops, and which ICMP types it drops. A program
// that could not be run (runErr) leaves them unchecked, with the reason.
func (ex exercise) verdictResults(v *verdicts, runErr error, d diagnosis) []labs.Result {
	want := ex.table(ex.want)
	var ideal verdicts
	for n := range 256 {
		ideal.protocols[n], ideal.types[n] = grade.XDPPass, ex.wantType(n)
	}
	ideal.protocols[packet.ProtoICMPv4] = grade.XDPDrop
	protoWant := ideal.protoList(ideal.stopped())
	typeWant := ideal.typeList(notPassed(&ideal.types))
	if v == nil {
		why := fmt.Sprintf("%s could not be run on the check's frames: %v", progName, runErr)
		return []labs.Result{labs.Skip(actionsName, want, why), labs.Skip(protocolsName, protoWant, why),
			labs.Skip(ex.typesName(), typeWant, why)}
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
		labs.Expect(ex.typesName(), typeWant, v.typeList(notPassed(&v.types)), d.types),
	}
}

// diagnosis holds the hints for each kind of frame that went wrong, for
// other protocols dropped, and for ICMP types dropped or passed wrongly.
type diagnosis struct {
	of            [kinds]string
	others, types string
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
		d.of[optioned] = d.of[request]
		for _, k := range []kind{reply, unreachable} {
			d.of[k] = "every ICMP message must be dropped, whatever its type: drop on iph->protocol == IPPROTO_ICMP alone" + ex.drop
			if ex.requestsOnly {
				d.of[k] = "echo replies and ICMP errors answer what node1 sent and must pass: drop icmp->type == ICMP_ECHO (8) only" + ex.drop
			}
		}
		for _, k := range []kind{udp, tcp, arp, icmp6, udp6} {
			d.of[k] = progName + " must return XDP_PASS for every packet it does not drop" + ex.drop
		}
		d.others, d.types = d.of[udp], d.of[reply]
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
	// inverted: ICMP passes and every other protocol is stopped (!= for ==).
	inverted := len(others) == 255 && v.protocols[packet.ProtoICMPv4] == grade.XDPPass
	// elsewhere: protocols other than ICMP are stopped in the echo
	// request's frame but real UDP and TCP pass: the program decides on
	// something besides iph->protocol.
	elsewhere := len(others) > 0 && v.of[udp] == grade.XDPPass && v.of[tcp] == grade.XDPPass
	invertedHint := fmt.Sprintf("%s passes ICMP and drops every other protocol: the test is inverted; return XDP_DROP when iph->protocol == IPPROTO_ICMP (not !=), XDP_PASS otherwise%s", progName, ex.drop)
	droppedTypes := notPassed(&v.types)

	// The echo request, which must be dropped.
	req := v.of[request]
	switch {
	case req == grade.XDPDrop:
	case req == grade.XDPAborted:
		d.of[request] = action(request) + "XDP_ABORTED (0) is the error exit: the frame is dropped, and the kernel traces an exception; return XDP_DROP (1)" + ex.drop
	case req == grade.XDPTx:
		d.of[request] = action(request) + fmt.Sprintf("XDP_TX sends each echo request back out of node1/%s to its sender; return XDP_DROP to drop it%s", ex.iface, ex.drop)
	case req != grade.XDPPass:
		d.of[request] = action(request) + "return XDP_DROP to drop it" + ex.drop
	case v.of[swapped] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops the echo request only when its EtherType bytes are swapped (0x0008): h_proto is in network byte order, so compare it with bpf_htons(ETH_P_IP), not ETH_P_IP%s",
			progName, ex.ipHeader)
	case v.of[early] != grade.XDPPass && v.of[udp] == grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s reads the protocol at byte 9 of the frame, in the source MAC address: the IPv4 header starts after the 14-byte Ethernet header, at (void *)(eth + 1)%s",
			progName, ex.ipHeader)
	case inverted:
		d.of[request] = invertedHint
	case !ex.requestsOnly && v.of[reply] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops echo replies but passes echo requests, so node1's stack gets every request and answers it: drop every ICMP packet, iph->protocol == IPPROTO_ICMP, whatever its ICMP type%s",
			progName, ex.drop)
	case ex.requestsOnly && v.of[reply] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops echo replies (type 0) and passes echo requests (type 8): compare icmp->type with ICMP_ECHO, the request%s", progName, ex.drop)
	case ex.requestsOnly && v.types[icmpv6Echo] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops ICMP type 128, ICMPv6's echo request, and passes IPv4's, type 8 (ICMP_ECHO): compare icmp->type with ICMP_ECHO%s", progName, ex.drop)
	case len(others) > 0:
		d.of[request] = fmt.Sprintf("%s drops protocol %s, not 1 (IPPROTO_ICMP): compare iph->protocol with IPPROTO_ICMP%s%s",
			progName, v.protoList(others), icmpv6Note(others), ex.drop)
	case ex.requestsOnly && v.of[unreachable] != grade.XDPPass:
		d.of[request] = fmt.Sprintf("%s drops ICMP errors (the port unreachable, type 3) and passes echo requests: drop when icmp->type is ICMP_ECHO (8)%s", progName, ex.drop)
	case len(droppedTypes) > 0:
		d.of[request] = fmt.Sprintf("%s drops ICMP types %s, not the echo request (8)%s", progName, v.typeList(droppedTypes), ex.drop)
	default:
		d.of[request] = fmt.Sprintf("nothing is dropped: %s passes every frame; %s", progName, how)
	}

	// The rest: what the step drops with the request, and what it passes.
	for _, k := range []kind{optioned, reply, unreachable, udp, tcp, arp, icmp6, udp6} {
		got, want := v.of[k], ex.want(k)
		switch {
		case got == want:
		case k == optioned && got == grade.XDPPass && req == grade.XDPDrop:
			d.of[k] = fmt.Sprintf("%s passes the echo request when its IPv4 header carries options (ihl 6, as ping -R sends): the ICMP header starts iph->ihl * 4 bytes after the IPv4 header, not sizeof(struct iphdr)%s",
				progName, ex.icmpHeader+ex.ipHeader)
		case want == grade.XDPDrop && got == grade.XDPPass && req == grade.XDPDrop:
			d.of[k] = fmt.Sprintf("%s drops echo requests but passes the %s: every ICMP message must go, whatever its type; drop on iph->protocol == IPPROTO_ICMP alone%s",
				progName, kindNames[k], ex.drop)
		case want == grade.XDPDrop && got == grade.XDPPass:
			d.of[k] = d.of[request]
		case want == grade.XDPDrop:
			d.of[k] = action(k) + "return XDP_DROP to drop it" + ex.drop
		case got == grade.XDPAborted:
			d.of[k] = action(k) + "XDP_ABORTED (0) is the error exit, and it drops the frame: end with return XDP_PASS (2), not return 0" + ex.drop
		case got == grade.XDPTx:
			d.of[k] = action(k) + fmt.Sprintf("XDP_TX sends it back out of node1/%s; return XDP_PASS for every frame that is not dropped%s", ex.iface, ex.drop)
		case got != grade.XDPDrop:
			d.of[k] = action(k) + "return XDP_PASS for every frame that is not dropped" + ex.drop
		case k == arp || (k == icmp6 || k == udp6) && v.of[arp] != grade.XDPPass:
			d.of[k] = fmt.Sprintf("%s drops frames that are not IPv4 (an ARP request, IPv6): return XDP_PASS when h_proto is not bpf_htons(ETH_P_IP); on a link without ARP, nobody reaches node1 at all%s",
				progName, ex.ipHeader)
		case (k == icmp6 || k == udp6) && v.of[icmp6] != grade.XDPPass && v.of[udp6] != grade.XDPPass:
			d.of[k] = fmt.Sprintf("%s drops IPv6 frames (EtherType 0x86DD): the intro drops IPv4's ICMP only; pass every frame whose h_proto is not bpf_htons(ETH_P_IP)%s", progName, ex.ipHeader)
		case k == icmp6:
			d.of[k] = fmt.Sprintf("%s drops ICMPv6 too (IPv6's next header 58): the intro drops IPv4's protocol 1 only, and IPv6 cannot work without ICMPv6 (neighbour discovery)%s", progName, ex.drop)
		case k == udp6:
			d.of[k] = fmt.Sprintf("%s drops a UDP datagram over IPv6 from %s, whose byte 23 is 1 where an IPv4 header has its protocol: check that h_proto is bpf_htons(ETH_P_IP) before reading iph->protocol%s",
				progName, udp6Src, ex.ipHeader)
		case inverted:
			d.of[k] = invertedHint
		case all:
			d.of[k] = fmt.Sprintf("%s drops every IPv4 packet, whatever its protocol: return XDP_DROP only when iph->protocol is IPPROTO_ICMP, and XDP_PASS for the rest%s", progName, ex.drop)
		case k == udp || k == tcp:
			d.of[k] = fmt.Sprintf("%s drops protocol %s: drop ICMP (1) only%s", progName, v.protoList(others), ex.drop)
		case v.of[reply] != grade.XDPPass && v.of[unreachable] != grade.XDPPass && v.types[icmpEchoReply] != grade.XDPPass && v.types[3] != grade.XDPPass:
			d.of[k] = fmt.Sprintf("%s drops every ICMP message: drop echo requests only (icmp->type == ICMP_ECHO); the replies and errors that come back answer what node1 sent%s", progName, ex.drop)
		case k == reply:
			d.of[k] = fmt.Sprintf("%s drops the echo replies too: drop icmp->type == ICMP_ECHO (8) only; compare the type, not icmp->code (0 for both)%s", progName, ex.drop)
		default:
			d.of[k] = fmt.Sprintf("%s drops ICMP errors (the port unreachable, type 3): drop echo requests only%s", progName, ex.drop)
		}
	}

	// Other protocols dropped in the echo request's frame.
	switch {
	case inverted:
		d.others = invertedHint
	case all && ex.requestsOnly && elsewhere:
		d.others = fmt.Sprintf("%s drops a packet of any protocol whose first byte after the IPv4 header is 8: test iph->protocol == IPPROTO_ICMP before taking that byte for an ICMP type%s", progName, ex.drop)
	case all && !elsewhere:
		d.others = d.of[udp]
	case len(others) == 0:
		// Only ICMP is stopped, by the wrong action: the request's hint says which.
		d.others = d.of[request]
	case elsewhere:
		d.others = fmt.Sprintf("%s drops protocol %s in a frame otherwise like the echo request, and passes real UDP and TCP: decide on iph->protocol alone%s", progName, v.protoList(others), ex.drop)
	default:
		d.others = fmt.Sprintf("%s drops protocol %s too: drop ICMP (1) only%s", progName, v.protoList(others), ex.drop)
	}

	// The ICMP types: all dropped, or the echo request's alone.
	var wrongDrop, wrongPass []int
	for t := range 256 {
		switch got := v.types[t]; {
		case got == ex.wantType(t):
		case got == grade.XDPPass:
			wrongPass = append(wrongPass, t)
		default:
			wrongDrop = append(wrongDrop, t)
		}
	}
	switch {
	case len(wrongDrop) == 0 && len(wrongPass) == 0:
	case v.types[icmpEcho] != grade.XDPDrop:
		d.types = d.of[request]
	case !ex.requestsOnly:
		d.types = fmt.Sprintf("%s passes ICMP types %s: every ICMP message must go, whatever its type; drop on iph->protocol == IPPROTO_ICMP alone%s",
			progName, v.typeList(wrongPass), ex.drop)
	case len(wrongDrop) == 255:
		d.types = fmt.Sprintf("%s drops every ICMP type: drop only when icmp->type is ICMP_ECHO (8)%s", progName, ex.drop)
	default:
		d.types = fmt.Sprintf("%s drops ICMP types %s too: drop only when icmp->type is ICMP_ECHO (8); the others answer what node1 sent%s",
			progName, v.typeList(wrongDrop), ex.drop)
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
