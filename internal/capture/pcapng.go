package capture

import (
	"fmt"
	"io"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// PcapngWriter writes packets as pcapng with one interface per action, named
// as xdpcap names them (XDPpass, XDPdrop, ...), so `tcpdump -r` reads the
// file and wireshark shows each packet's action as its interface.
type PcapngWriter struct {
	w      *pcapgo.NgWriter
	ifaces map[Action]int
	flush  bool
	start  time.Time
}

// NewPcapngWriter writes the section and interface headers. With
// flushEach, every packet is flushed as it is written, for a reader at the
// other end of a pipe (`-w - | tcpdump -r -`).
func NewPcapngWriter(out io.Writer, actions []Action, filter string, flushEach bool) (*PcapngWriter, error) {
	if len(actions) == 0 {
		return nil, fmt.Errorf("pcapng: no actions")
	}
	intf := func(a Action) pcapgo.NgInterface {
		comment := "XDP action"
		if a == Entry {
			comment = "before the XDP program ran"
		}
		return pcapgo.NgInterface{
			Name:       a.Interface(),
			Comment:    comment,
			Filter:     filter,
			OS:         "linux",
			LinkType:   layers.LinkTypeEthernet,
			SnapLength: Snaplen,
		}
	}
	w, err := pcapgo.NewNgWriterInterface(out, intf(actions[0]), pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{OS: "linux", Application: "xdplab capture"},
	})
	if err != nil {
		return nil, fmt.Errorf("write pcapng header: %w", err)
	}
	p := &PcapngWriter{w: w, ifaces: map[Action]int{actions[0]: 0}, flush: flushEach, start: time.Now()}
	for _, a := range actions[1:] {
		id, err := w.AddInterface(intf(a))
		if err != nil {
			return nil, fmt.Errorf("write pcapng header: %w", err)
		}
		p.ifaces[a] = id
	}
	// Out at once, so a reader on a pipe sees a valid file before the first
	// packet arrives (tcpdump prints its "reading from file" line).
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("write pcapng header: %w", err)
	}
	return p, nil
}

// WritePacket appends one packet under its action's interface.
func (p *PcapngWriter) WritePacket(pkt Packet) error {
	id, ok := p.ifaces[pkt.Action]
	if !ok {
		return fmt.Errorf("pcapng: no interface for action %s", pkt.Action)
	}
	err := p.w.WritePacket(gopacket.CaptureInfo{
		Timestamp:      pkt.Time,
		CaptureLength:  len(pkt.Data),
		Length:         pkt.Length,
		InterfaceIndex: id,
	}, pkt.Data)
	if err == nil && p.flush {
		err = p.w.Flush()
	}
	return err
}

// Close appends each interface's statistics (packets received by the
// capture program, and lost) and flushes. The file is complete after it.
func (p *PcapngWriter) Close(stats map[Action]Stats) error {
	now := time.Now()
	for a, id := range p.ifaces {
		s, ok := stats[a]
		if !ok {
			continue
		}
		if err := p.w.WriteInterfaceStats(id, pcapgo.NgInterfaceStatistics{
			LastUpdate: now, StartTime: p.start, EndTime: now,
			PacketsReceived: s.Received, PacketsDropped: s.Lost,
		}); err != nil {
			return fmt.Errorf("write pcapng statistics: %w", err)
		}
	}
	return p.w.Flush()
}

// Flush writes out what is buffered.
func (p *PcapngWriter) Flush() error { return p.w.Flush() }
