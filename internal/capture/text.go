package capture

import (
	"fmt"

	"github.com/xdplab/xdplab/internal/packet"
)

// Summary is a one-line description of a packet, tcpdump-like, for the
// terminal when no -w is given:
// "12:00:01.000123 XDPdrop 60 bytes 192.168.0.3.40000 > 192.168.0.2.9: UDP, length 18".
func Summary(p Packet) string {
	f := packet.Decode(p.Data)
	return fmt.Sprintf("%s %-11s %d bytes %s", p.Time.Format("15:04:05.000000"), p.Action.Interface(), p.Length, f.Summary())
}
