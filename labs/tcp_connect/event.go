package tcpconnect

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// commLen is TASK_COMM_LEN.
const commLen = 16

// eventSize is struct data_t's size without its tail padding: u32 pid,
// char comm[16], u32 saddr, u32 daddr, u16 dport.
const eventSize = 4 + commLen + 4 + 4 + 2

// Event is one struct data_t the program sent.
type Event struct {
	Pid   uint32
	Comm  string
	Saddr netip.Addr
	Daddr netip.Addr
	Dport uint16
}

// Decode reads a struct data_t from a perf sample (which the kernel pads
// to 8 bytes, so it may be longer). The addresses are 4 bytes each in
// network order, the other fields in the machine's order.
func Decode(raw []byte) (Event, error) {
	if len(raw) < eventSize {
		return Event{}, fmt.Errorf("a %d-byte event, want struct data_t's %d bytes {u32 pid; char comm[16]; u32 saddr; u32 daddr; u16 dport}", len(raw), eventSize)
	}
	comm, _, _ := strings.Cut(string(raw[4:4+commLen]), "\x00")
	return Event{
		Pid:   binary.NativeEndian.Uint32(raw[0:]),
		Comm:  comm,
		Saddr: netip.AddrFrom4([4]byte(raw[20:24])),
		Daddr: netip.AddrFrom4([4]byte(raw[24:28])),
		Dport: binary.NativeEndian.Uint16(raw[28:]),
	}, nil
}

// Header is the introduction's column line.
const Header = "PID    COMM         SADDR            DADDR            DPORT"

// Format is the introduction's line for an event:
// "%-6d %-12.12s %-16s %-16s %-4d".
func (e Event) Format() string {
	comm := e.Comm
	if len(comm) > 12 {
		comm = comm[:12]
	}
	return fmt.Sprintf("%-6d %-12s %-16s %-16s %-4d", e.Pid, comm, e.Saddr, e.Daddr, e.Dport)
}

// String names every field: "pid=1234 comm=curl saddr=... daddr=... dport=80".
func (e Event) String() string {
	return fmt.Sprintf("pid=%d comm=%s saddr=%s daddr=%s dport=%d", e.Pid, e.Comm, e.Saddr, e.Daddr, e.Dport)
}
