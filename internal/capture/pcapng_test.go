package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

func pcapngPackets(t testing.TB) []Packet {
	at := time.Unix(1_700_000_000, 123456789)
	f9, f7 := udpFrame(t, 9), udpFrame(t, 7777)
	odd := f7[:len(f7)-3] // a length that needs padding
	return []Packet{
		{Action: Entry, Time: at, Length: len(f9), Data: f9},
		{Action: Drop, Time: at.Add(time.Microsecond), Length: len(f9), Data: f9},
		{Action: Pass, Time: at.Add(time.Millisecond), Length: len(f7) + 100, Data: f7},
		{Action: Pass, Time: at.Add(time.Second + 1), Length: len(f7), Data: odd},
	}
}

// gopacketPcapng writes what NewPcapngWriter wrote when it was built on
// gopacket's pcapgo.NgWriter: the reference for the bytes.
func gopacketPcapng(t *testing.T, actions []Action, filter string, packets []Packet) []byte {
	var buf bytes.Buffer
	intf := func(a Action) pcapgo.NgInterface {
		comment := "XDP action"
		if a == Entry {
			comment = "before the XDP program ran"
		}
		return pcapgo.NgInterface{Name: a.Interface(), Comment: comment, Filter: filter, OS: "linux",
			LinkType: layers.LinkTypeEthernet, SnapLength: Snaplen}
	}
	w, err := pcapgo.NewNgWriterInterface(&buf, intf(actions[0]), pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{OS: "linux", Application: "xdplab capture"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[Action]int{actions[0]: 0}
	for _, a := range actions[1:] {
		if ids[a], err = w.AddInterface(intf(a)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range packets {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: p.Length, InterfaceIndex: ids[p.Action]}
		if err := w.WritePacket(ci, p.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPcapngAsGopacket: the section, interfaces and packets are, byte for
// byte, what gopacket's pcapng writer wrote for them.
func TestPcapngAsGopacket(t *testing.T) {
	packets := pcapngPackets(t)
	for _, filter := range []string{"", "udp", "icmp or udp port 9"} {
		for _, flush := range []bool{false, true} {
			var buf bytes.Buffer
			w, err := NewPcapngWriter(&buf, []Action{Entry, Drop, Pass}, filter, flush)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range packets {
				if err := w.WritePacket(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if want := gopacketPcapng(t, []Action{Entry, Drop, Pass}, filter, packets); !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("filter %q: wrote\n%x\ngopacket wrote\n%x", filter, buf.Bytes(), want)
			}
		}
	}
}

func TestPcapngRefuses(t *testing.T) {
	if _, err := NewPcapngWriter(&bytes.Buffer{}, nil, "", false); err == nil {
		t.Error("a writer with no interface was made")
	}
	w, err := NewPcapngWriter(&bytes.Buffer{}, []Action{Pass}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	f := udpFrame(t, 9)
	if err := w.WritePacket(Packet{Action: Pass, Data: f, Length: len(f) - 1}); err == nil {
		t.Error("a packet with more bytes captured than it had was written")
	}
}

// TestPcapngStatistics walks the blocks of a closed file: every block is
// framed by its length, and each action in stats has one statistics block
// with its counts and the capture's start and end.
func TestPcapngStatistics(t *testing.T) {
	var buf bytes.Buffer
	before := time.Now()
	w, err := NewPcapngWriter(&buf, []Action{Entry, Drop, Pass}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pcapngPackets(t) {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(map[Action]Stats{Drop: {Received: 5, Lost: 1}, Pass: {Received: 7}}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	type isb struct {
		id               uint32
		start, end       time.Time
		received, droppd uint64
	}
	var got []isb
	var types []uint32
	b := buf.Bytes()
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatalf("%d bytes left, not a block", len(b))
		}
		typ, n := binary.LittleEndian.Uint32(b), int(binary.LittleEndian.Uint32(b[4:]))
		if n%4 != 0 || n < 12 || n > len(b) || binary.LittleEndian.Uint32(b[n-4:]) != uint32(n) {
			t.Fatalf("block type %#x: length %d, trailer %d, %d bytes left", typ, n, binary.LittleEndian.Uint32(b[n-4:]), len(b))
		}
		types = append(types, typ)
		if typ == blockStatistics {
			s := isb{id: binary.LittleEndian.Uint32(b[8:])}
			for o := b[20 : n-4]; len(o) >= 4; {
				code, l := binary.LittleEndian.Uint16(o), int(binary.LittleEndian.Uint16(o[2:]))
				v := o[4 : 4+l]
				ts := func() time.Time {
					return time.Unix(0, int64(binary.LittleEndian.Uint32(v))<<32|int64(binary.LittleEndian.Uint32(v[4:])))
				}
				switch code {
				case optIsbStart:
					s.start = ts()
				case optIsbEnd:
					s.end = ts()
				case optIsbIfRecv:
					s.received = binary.LittleEndian.Uint64(v)
				case optIsbIfDrop:
					s.droppd = binary.LittleEndian.Uint64(v)
				}
				o = o[4+l+(-l&3):]
			}
			got = append(got, s)
		}
		b = b[n:]
	}
	wantTypes := []uint32{blockSection, blockInterface, blockInterface, blockInterface,
		blockEnhancedPkt, blockEnhancedPkt, blockEnhancedPkt, blockEnhancedPkt, blockStatistics, blockStatistics}
	if len(types) != len(wantTypes) {
		t.Fatalf("blocks %x, want %x", types, wantTypes)
	}
	for i := range types {
		if types[i] != wantTypes[i] {
			t.Fatalf("blocks %x, want %x", types, wantTypes)
		}
	}
	for i, want := range []isb{{id: 1, received: 5, droppd: 1}, {id: 2, received: 7}} {
		g := got[i]
		if g.id != want.id || g.received != want.received || g.droppd != want.droppd ||
			g.start.Before(before) || g.end.Before(g.start) || g.end.After(after) {
			t.Errorf("statistics %d: %+v, want %+v between %v and %v", i, g, want, before, after)
		}
	}

	// gopacket's reader takes the whole file, statistics included.
	r, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
		n++
	}
	if n != 4 {
		t.Errorf("gopacket read %d packets, want 4", n)
	}
}

func requireTcpdump(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		if os.Getenv("XDPLAB_REQUIRE_PRIVILEGED") == "1" {
			t.Fatal("tcpdump is needed as a witness (scripts/provision.sh installs it)")
		}
		t.Skip("tcpdump not installed")
	}
}

// TestPcapngTcpdump: the system's tcpdump reads the file, and reads a
// stream packet by packet as it is flushed.
func TestPcapngTcpdump(t *testing.T) {
	requireTcpdump(t)
	file := filepath.Join(t.TempDir(), "capture.pcapng")
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewPcapngWriter(out, []Action{Entry, Drop, Pass}, "udp", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pcapngPackets(t) {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(map[Action]Stats{Drop: {Received: 1}, Pass: {Received: 2}}); err != nil {
		t.Fatal(err)
	}
	out.Close()
	text, err := exec.Command("tcpdump", "-nn", "-t", "-r", file).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump -r: %v\n%s", err, text)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		if !strings.HasPrefix(l, "reading from file") {
			lines = append(lines, l)
		}
	}
	want := []string{
		"IP 192.168.0.3.40000 > 192.168.0.2.9: UDP, length 18",
		"IP 192.168.0.3.40000 > 192.168.0.2.9: UDP, length 18",
		"IP 192.168.0.3.40000 > 192.168.0.2.7777: UDP, length 18",
		"IP 192.168.0.3.40000 > 192.168.0.2.7777: UDP, length 18",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("tcpdump -r printed\n%s\nwant\n%s", text, strings.Join(want, "\n"))
	}

	// A stream: tcpdump -c 1 exits after the first packet, which it only
	// sees if the writer flushed it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	td := exec.CommandContext(ctx, "tcpdump", "-nn", "-t", "-c", "1", "-r", "-")
	in, err := td.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var printed bytes.Buffer
	td.Stdout, td.Stderr = &printed, &printed
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	sw, err := NewPcapngWriter(in, []Action{Pass}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	p := pcapngPackets(t)[2]
	if err := sw.WritePacket(p); err != nil {
		t.Fatal(err)
	}
	err = td.Wait() // the pipe stays open: only the flushed packet ends tcpdump
	in.Close()
	if err != nil || !strings.Contains(printed.String(), "192.168.0.2.7777: UDP, length 18") {
		t.Errorf("tcpdump -c 1 -r - on a stream: %v\n%s", err, printed.String())
	}
}
