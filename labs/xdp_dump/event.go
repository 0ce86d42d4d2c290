package xdpdump

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/labs"
)

// Event is one perf sample: the tuple of a TCP SYN and the packet it came in.
type Event struct {
	Src, Dst netip.AddrPort
	// Packet is the Ethernet frame as the program saw it, without the padding
	// the kernel adds to every sample. A sample cut short (Len beyond what it
	// carries) keeps every byte it carries here, padding included.
	Packet []byte
	// Len is the packet's length as the sample gives it: pkt_len, or in the
	// tutorial's layout the IPv4 header's total length (the bytes carried
	// when there is none).
	Len int
	// Carried is how many bytes the sample carries after its metadata, the
	// kernel's padding included.
	Carried int
	// CPU is the CPU whose ring the sample came from: with
	// BPF_F_CURRENT_CPU, the CPU that ran the program.
	CPU int
}

// Layout says how a sample's metadata is laid out.
type Layout struct {
	// Header is the size of the metadata in front of the packet bytes.
	Header int
	// HasLen is true when the metadata ends in a u32 pkt_len (ours); without it
	// (the tutorial's 12-byte item) the length comes from the IPv4 header.
	HasLen bool
}

var (
	// OurLayout is perf_event_item of xdp_dump.c: the tutorial's four fields
	// plus pkt_len.
	OurLayout = Layout{Header: int(binary.Size(xdpDumpPerfEventItem{})), HasLen: true}
	// TutorialLayout is the go-xdp-examples item: addresses and ports only.
	TutorialLayout = Layout{Header: 12}
)

// LayoutOf reads the layout from the object's BTF: a perf_event_item with a
// pkt_len member right after the ports is ours, anything else (including an
// object built without -g) is taken to be the tutorial's.
func LayoutOf(spec *ebpf.CollectionSpec) Layout {
	l, _ := layoutOfTypes(spec.Types)
	return l
}

// layoutOfTypes reads the layout from perf_event_item in types. ok is false
// when types hold no such struct; the layout is then the tutorial's.
func layoutOfTypes(types *btf.Spec) (l Layout, ok bool) {
	if types == nil {
		return TutorialLayout, false
	}
	var item *btf.Struct
	if err := types.TypeByName("perf_event_item", &item); err != nil {
		return TutorialLayout, false
	}
	for _, m := range item.Members {
		if m.Name == "pkt_len" && m.Offset.Bytes() == 12 && item.Size == 16 {
			return OurLayout, true
		}
	}
	return TutorialLayout, true
}

// attachedLayout reads the layout from the BTF that the learner's loader
// gave the kernel with the program attached in a bare lab: a libbpf loader
// (ip, bpftool, a C loader) gives the object's whole BTF. When that BTF
// does not hold perf_event_item (cilium/ebpf gives only the types the
// program's functions and maps use), the program is taken to have the
// lab's layout, the one its starter has.
func attachedLayout(env *labs.Env) Layout {
	if env.Attached == nil {
		return OurLayout
	}
	for _, pt := range env.Attached.Points {
		if pt.Program == nil {
			continue
		}
		if l, ok := programLayout(pt.Program.ID); ok {
			return l
		}
	}
	return OurLayout
}

// programLayout is layoutOfTypes over the BTF of a loaded program.
func programLayout(id ebpf.ProgramID) (Layout, bool) {
	prog, err := ebpf.NewProgramFromID(id)
	if err != nil {
		return Layout{}, false
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		return Layout{}, false
	}
	btfID, ok := info.BTFID()
	if !ok {
		return Layout{}, false
	}
	h, err := btf.NewHandleFromID(btfID)
	if err != nil {
		return Layout{}, false
	}
	defer h.Close()
	types, err := h.Spec(nil)
	if err != nil {
		return Layout{}, false
	}
	return layoutOfTypes(types)
}

// errShortSample marks a sample too small to hold the metadata.
var errShortSample = errors.New("sample shorter than its metadata")

// Decode turns a perf RawSample into an Event. RawSample is padded to a
// multiple of 8 bytes, so the packet is sliced by the recorded length.
func Decode(raw []byte, l Layout) (Event, error) {
	if len(raw) < l.Header {
		return Event{}, fmt.Errorf("%w: %d bytes, want at least %d", errShortSample, len(raw), l.Header)
	}
	// Addresses and ports were copied from the headers, so they are in network
	// byte order in memory.
	src := netip.AddrFrom4([4]byte(raw[0:4]))
	dst := netip.AddrFrom4([4]byte(raw[4:8]))
	ev := Event{
		Src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(raw[8:10])),
		Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(raw[10:12])),
	}
	pkt := raw[l.Header:]
	ev.Len, ev.Carried = len(pkt), len(pkt)
	if l.HasLen {
		ev.Len = int(binary.NativeEndian.Uint32(raw[12:16]))
	} else if n, ok := ipv4FrameLen(pkt); ok {
		ev.Len = n
	}
	if ev.Len > len(pkt) {
		// What is there is still evidence of what the program appended.
		ev.Packet = pkt
		return ev, fmt.Errorf("sample says %d packet bytes but carries %d", ev.Len, len(pkt))
	}
	ev.Packet = pkt[:ev.Len]
	return ev, nil
}

// ipv4FrameLen is the length of an IPv4 frame by its headers: the Ethernet
// header and its VLAN tags, plus the IPv4 total length. It reports false for
// other frames, and for a total length of 0 (segmentation offload), which
// gives none.
func ipv4FrameLen(pkt []byte) (int, bool) {
	f := packet.Decode(pkt)
	if !f.Has(packet.LayerIPv4) || f.IPv4.TotalLength == 0 {
		return 0, false
	}
	return 14 + 4*f.VLANTags + int(f.IPv4.TotalLength), true
}

// Format renders an event as the tutorial does: the tuple line, then a hex
// dump of the packet followed by a blank line.
func (e Event) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "TCP: %s -> %s\n", e.Src, e.Dst)
	if len(e.Packet) > 0 {
		b.WriteString(hex.Dump(e.Packet))
		b.WriteString("\n")
	}
	return b.String()
}
