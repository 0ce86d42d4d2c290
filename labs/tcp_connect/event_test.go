package tcpconnect

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// TestDecode reads struct data_t as the program lays it out, with the
// kernel's padding after it, in each step's layout; a short sample is an
// error that gives the layout.
func TestDecode(t *testing.T) {
	raw := make([]byte, 40)
	binary.NativeEndian.PutUint32(raw[0:], 4242)
	copy(raw[4:], "curl\x00garbage")
	copy(raw[20:], []byte{192, 168, 0, 3, 192, 168, 0, 2})
	binary.NativeEndian.PutUint16(raw[28:], 8080)
	binary.NativeEndian.PutUint16(raw[30:], 1)
	binary.NativeEndian.PutUint64(raw[32:], 57)
	base := Event{Pid: 4242, Comm: "curl", Saddr: netip.MustParseAddr("192.168.0.3"), Daddr: netip.MustParseAddr("192.168.0.2"), Dport: 8080}
	for _, step := range []string{"", stepOutcome, stepLatency} {
		e, err := Decode(raw, step)
		if err != nil {
			t.Fatal(err)
		}
		w := base
		w.step = step
		switch step {
		case stepOutcome:
			w.Established = 1
		case stepLatency:
			w.DeltaUS = 57
		}
		if e != w {
			t.Errorf("step %q: %+v, want %+v", step, e, w)
		}
	}
	if got := (Event{Pid: 4242, Comm: "a-long-command-", Saddr: base.Saddr, Daddr: base.Daddr, Dport: 80}).Format(); got != "4242   a-long-comma 192.168.0.3      192.168.0.2      80   " {
		t.Errorf("Format: %q", got)
	}
	if _, err := Decode(raw[:29], ""); err == nil || !strings.Contains(err.Error(), "a 29-byte event, want struct data_t's 30 bytes {u32 pid; char comm[16]; u32 saddr; u32 daddr; u16 dport}") {
		t.Errorf("short sample: %v", err)
	}
}
