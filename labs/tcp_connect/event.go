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
	// Established is the outcome step's: 1 when the connect was
	// established, 0 when it was refused.
	Established uint16
	// DeltaUS is the latency step's: microseconds from TCP_SYN_SENT to
	// TCP_ESTABLISHED.
	DeltaUS uint64
	step    string
}

// stepSize is struct data_t's size in each step, without tail padding.
var stepSize = map[string]int{"": eventSize, stepOutcome: eventSize + 2, stepLatency: eventSize + 2 + 8}

// Decode reads a struct data_t from a perf sample (which the kernel pads
// to 8 bytes, so it may be longer). The addresses are 4 bytes each in
// network order, the other fields in the machine's order.
// The outcome step adds u16 established after dport; the latency step
// u64 delta_us, 8-byte aligned.
func Decode(raw []byte, step string) (Event, error) {
	if len(raw) < stepSize[step] {
		return Event{}, fmt.Errorf("a %d-byte event, want struct data_t's %d bytes {u32 pid; char comm[16]; u32 saddr; u32 daddr; u16 dport%s}",
			len(raw), stepSize[step], map[string]string{stepOutcome: "; u16 established", stepLatency: "; u64 delta_us"}[step])
	}
	comm, _, _ := strings.Cut(string(raw[4:4+commLen]), "\x00")
	e := Event{
		Pid:   binary.NativeEndian.Uint32(raw[0:]),
		Comm:  comm,
		Saddr: netip.AddrFrom4([4]byte(raw[20:24])),
		Daddr: netip.AddrFrom4([4]byte(raw[24:28])),
		Dport: binary.NativeEndian.Uint16(raw[28:]),
		step:  step,
	}
	switch step {
	case stepOutcome:
		e.Established = binary.NativeEndian.Uint16(raw[30:])
	case stepLatency:
		e.DeltaUS = binary.NativeEndian.Uint64(raw[32:])
	}
	return e, nil
}

// Header is the introduction's column line.
const Header = "PID    COMM         SADDR            DADDR            DPORT"

// headers are each step's column line: the introduction's, and the
// step's own field.
var headers = map[string]string{"": Header, stepOutcome: Header + " OUTCOME", stepLatency: Header + " LAT(us)"}

// Format is the introduction's line for an event:
// "%-6d %-12.12s %-16s %-16s %-4d".
func (e Event) Format() string {
	comm := e.Comm
	if len(comm) > 12 {
		comm = comm[:12]
	}
	line := fmt.Sprintf("%-6d %-12s %-16s %-16s %-5d", e.Pid, comm, e.Saddr, e.Daddr, e.Dport)
	switch e.step {
	case stepOutcome:
		line += " " + outcomeName(e.Established)
	case stepLatency:
		line += fmt.Sprintf(" %d", e.DeltaUS)
	}
	return line
}

func outcomeName(established uint16) string {
	switch established {
	case 0:
		return "refused"
	case 1:
		return "established"
	}
	return fmt.Sprintf("established=%d", established)
}

// String names every field: "pid=1234 comm=curl saddr=... daddr=... dport=80".
func (e Event) String() string {
	s := fmt.Sprintf("pid=%d comm=%s saddr=%s daddr=%s dport=%d", e.Pid, e.Comm, e.Saddr, e.Daddr, e.Dport)
	switch e.step {
	case stepOutcome:
		s += fmt.Sprintf(" established=%d", e.Established)
	case stepLatency:
		s += fmt.Sprintf(" delta_us=%d", e.DeltaUS)
	}
	return s
}
