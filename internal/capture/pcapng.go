package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// PcapngWriter writes packets as pcapng with one interface per action, named
// as xdpcap names them (XDPpass, XDPdrop, ...), so `tcpdump -r` reads the
// file and wireshark shows each packet's action as its interface.
type PcapngWriter struct {
	w      *bufio.Writer
	ifaces map[Action]uint32
	order  []Action // the interfaces in the order of their ids
	flush  bool
	start  time.Time
	hdr    [20]byte // an Enhanced Packet Block's fixed fields, reused
}

// pcapng block types and option codes (draft-ietf-opsawg-pcapng), the few
// this writer uses.
const (
	blockSection     = 0x0a0d0d0a
	blockInterface   = 1
	blockStatistics  = 5
	blockEnhancedPkt = 6
	byteOrderMagic   = 0x1a2b3c4d
	linkTypeEthernet = 1 // LINKTYPE_ETHERNET

	optEnd         = 0
	optComment     = 1
	optShbOS       = 3
	optShbUserAppl = 4
	optIfName      = 2
	optIfTsresol   = 9
	optIfFilter    = 11
	optIfOS        = 12
	optIsbStart    = 2
	optIsbEnd      = 3
	optIsbIfRecv   = 4
	optIsbIfDrop   = 5
)

// NewPcapngWriter writes the section and interface headers. With
// flushEach, every packet is flushed as it is written, for a reader at the
// other end of a pipe (`-w - | tcpdump -r -`).
func NewPcapngWriter(out io.Writer, actions []Action, filter string, flushEach bool) (*PcapngWriter, error) {
	if len(actions) == 0 {
		return nil, fmt.Errorf("pcapng: no actions")
	}
	p := &PcapngWriter{w: bufio.NewWriter(out), ifaces: map[Action]uint32{}, flush: flushEach, start: time.Now()}
	var opts options
	opts.string(optShbUserAppl, "xdplab capture")
	opts.string(optShbOS, "linux")
	// Version 1.0; section length -1: not known, the file is a stream.
	hdr := binary.LittleEndian.AppendUint32(nil, byteOrderMagic)
	hdr = binary.LittleEndian.AppendUint16(hdr, 1)
	hdr = binary.LittleEndian.AppendUint16(hdr, 0)
	hdr = binary.LittleEndian.AppendUint64(hdr, ^uint64(0))
	p.block(blockSection, hdr, nil, opts)

	for _, a := range actions {
		comment := "XDP action"
		if a == Entry {
			comment = "before the XDP program ran"
		}
		var opts options
		opts.string(optIfName, a.Interface())
		opts.string(optComment, comment)
		if filter != "" {
			// The first byte says the filter is libpcap's text form.
			opts.add(optIfFilter, append([]byte{0}, filter...))
		}
		opts.string(optIfOS, "linux")
		opts.add(optIfTsresol, []byte{9}) // nanoseconds
		hdr := binary.LittleEndian.AppendUint16(nil, linkTypeEthernet)
		hdr = binary.LittleEndian.AppendUint16(hdr, 0) // reserved
		hdr = binary.LittleEndian.AppendUint32(hdr, Snaplen)
		p.block(blockInterface, hdr, nil, opts)
		p.ifaces[a] = uint32(len(p.order))
		p.order = append(p.order, a)
	}
	// Out at once, so a reader on a pipe sees a valid file before the first
	// packet arrives (tcpdump prints its "reading from file" line).
	if err := p.w.Flush(); err != nil {
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
	if len(pkt.Data) > pkt.Length {
		return fmt.Errorf("pcapng: %d bytes captured of a %d-byte packet", len(pkt.Data), pkt.Length)
	}
	hdr := binary.LittleEndian.AppendUint32(p.hdr[:0], id)
	hdr = appendTime(hdr, pkt.Time)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(pkt.Data)))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(pkt.Length))
	err := p.block(blockEnhancedPkt, hdr, pkt.Data, options{})
	if err == nil && p.flush {
		err = p.w.Flush()
	}
	return err
}

// Close appends each interface's statistics (packets received by the
// capture program, and lost) and flushes. The file is complete after it.
func (p *PcapngWriter) Close(stats map[Action]Stats) error {
	now := time.Now()
	for id, a := range p.order {
		s, ok := stats[a]
		if !ok {
			continue
		}
		var opts options
		opts.add(optIsbStart, appendTime(nil, p.start))
		opts.add(optIsbEnd, appendTime(nil, now))
		opts.add(optIsbIfDrop, binary.LittleEndian.AppendUint64(nil, s.Lost))
		opts.add(optIsbIfRecv, binary.LittleEndian.AppendUint64(nil, s.Received))
		hdr := appendTime(binary.LittleEndian.AppendUint32(nil, uint32(id)), now)
		if err := p.block(blockStatistics, hdr, nil, opts); err != nil {
			return fmt.Errorf("write pcapng statistics: %w", err)
		}
	}
	return p.w.Flush()
}

// Flush writes out what is buffered.
func (p *PcapngWriter) Flush() error { return p.w.Flush() }

// block writes one block: type, total length, the fixed fields, data
// padded to 32 bits, the options, and the total length again.
func (p *PcapngWriter) block(typ uint32, fixed, data []byte, opts options) error {
	pad := -len(data) & 3
	total := 12 + len(fixed) + len(data) + pad + opts.len()
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[0:], typ)
	binary.LittleEndian.PutUint32(buf[4:], uint32(total))
	p.w.Write(buf[:8])
	p.w.Write(fixed)
	p.w.Write(data)
	p.w.Write(zeros[:pad])
	opts.writeTo(p.w)
	_, err := p.w.Write(buf[4:8])
	// bufio keeps the first write error and returns it from every later
	// call, this one included.
	return err
}

var zeros [4]byte

// appendTime appends a timestamp in nanoseconds (if_tsresol 9) since the
// epoch, high 32 bits first, as pcapng stores it.
func appendTime(b []byte, t time.Time) []byte {
	ns := uint64(t.UnixNano())
	b = binary.LittleEndian.AppendUint32(b, uint32(ns>>32))
	return binary.LittleEndian.AppendUint32(b, uint32(ns))
}

// options is a block's option list, encoded.
type options []byte

func (o *options) add(code uint16, value []byte) {
	*o = binary.LittleEndian.AppendUint16(*o, code)
	*o = binary.LittleEndian.AppendUint16(*o, uint16(len(value)))
	*o = append(*o, value...)
	*o = append(*o, zeros[:-len(value)&3]...)
}

func (o *options) string(code uint16, s string) { o.add(code, []byte(s)) }

// len is the encoded length, with the end-of-options marker a non-empty
// list ends with.
func (o options) len() int {
	if len(o) == 0 {
		return 0
	}
	return len(o) + 4
}

func (o options) writeTo(w *bufio.Writer) {
	if len(o) == 0 {
		return
	}
	w.Write(o)
	w.Write([]byte{optEnd, 0, 0, 0}) // code 0, length 0
}
