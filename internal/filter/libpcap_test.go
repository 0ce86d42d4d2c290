package filter

import (
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"golang.org/x/net/bpf"
)

// TestCompileAsGopacket: calling libpcap directly gives the program (and the
// error text) gopacket's pcap binding gives, instruction for instruction.
func TestCompileAsGopacket(t *testing.T) {
	exprs := append([]string{"tcp port notaport", "hst 1.2.3.4", "ether[0] / 0 == 1", "ip broadcast"}, filterCorpus...)
	for _, snaplen := range []int{DefaultSnaplen, 1500} {
		for _, expr := range exprs {
			want, werr := pcap.CompileBPFFilter(layers.LinkTypeEthernet, snaplen, expr)
			got, gerr := pcapCompile(expr, snaplen)
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Errorf("%q: error %v, gopacket says %v", expr, gerr, werr)
				continue
			}
			if len(got) != len(want) {
				t.Errorf("%q: %d instructions, gopacket has %d", expr, len(got), len(want))
				continue
			}
			for i, w := range want {
				if g := got[i]; g != (bpf.RawInstruction{Op: w.Code, Jt: w.Jt, Jf: w.Jf, K: w.K}) {
					t.Errorf("%q: instruction %d is %+v, gopacket has %+v", expr, i, g, w)
				}
			}
		}
	}
}

// TestMatchAsGopacket: Match is libpcap's bpf_filter, so it keeps what
// gopacket's pcap.BPF (pcap_offline_filter) keeps, for every filter of the
// corpus on every frame.
func TestMatchAsGopacket(t *testing.T) {
	fs := frames(t)
	for _, expr := range filterCorpus {
		insns, err := Compile(expr, 0)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := pcap.NewBPF(layers.LinkTypeEthernet, DefaultSnaplen, expr)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if len(f.data) == 0 {
				continue // gopacket's binding cannot pass an empty packet; TestMatchRefuses covers it
			}
			got, err := Match(insns, f.data)
			if err != nil {
				t.Fatalf("Match(%q, %s): %v", expr, f.name, err)
			}
			want := ref.Matches(gopacket.CaptureInfo{CaptureLength: len(f.data), Length: len(f.data)}, f.data)
			if got != want {
				t.Errorf("Match(%q, %s) = %v, libpcap via gopacket says %v", expr, f.name, got, want)
			}
		}
	}
}

func TestMatchRefuses(t *testing.T) {
	for name, insns := range map[string][]bpf.Instruction{
		"empty":          nil,
		"jump past end":  {bpf.Jump{Skip: 5}, bpf.RetConstant{Val: 1}},
		"no last return": {bpf.LoadConstant{Dst: bpf.RegA, Val: 1}},
	} {
		if ok, err := Match(insns, []byte{1, 2, 3}); err == nil {
			t.Errorf("%s: Match = %v, want an error", name, ok)
		}
	}
	// An empty packet is a packet: "len < 64" keeps it, "ip" does not.
	for expr, want := range map[string]bool{"less 64": true, "ip": false, "": true} {
		insns, err := Compile(expr, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Match(insns, nil); err != nil || got != want {
			t.Errorf("Match(%q, empty packet) = %v, %v; want %v", expr, got, err, want)
		}
	}
}
