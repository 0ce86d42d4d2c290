package traffic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/xdplab/xdplab/internal/namespace"
)

// DefaultCount is how many pings, datagrams or connections `xdplab traffic`
// sends when the user gave no count.
const DefaultCount = 3

// Run payload sizes: ping(8)'s default for ping, small recognisable ones
// for udp and tcp.
const (
	runUDPPayload = 32
	runTCPPayload = "xdplab\n"
)

// ErrUsage marks errors in what the user asked for (kind, --to, -c), so the
// CLI can exit 2 rather than 1.
var ErrUsage = errors.New("usage error")

type usageError string

func (e usageError) Error() string        { return string(e) }
func (e usageError) Is(target error) bool { return target == ErrUsage }

// ErrNoReply is returned by Run when a ping got no reply at all, so the
// command fails like ping(8) does.
var ErrNoReply = errors.New("no reply")

// Run is `xdplab traffic KIND --to TO -c COUNT`: it sends the traffic from
// inside ns and writes ping(8)-like output to w.
func Run(ctx context.Context, ns *namespace.NS, kind, to string, count int, w io.Writer) error {
	dst, err := parseRequest(kind, to, count)
	if err != nil {
		return err
	}
	switch kind {
	case "ping":
		return runPing(ctx, ns, dst.Addr(), count, w)
	case "udp":
		if err := UDP(ctx, ns, dst, count, runUDPPayload); err != nil {
			return err
		}
		fmt.Fprintf(w, "sent %d UDP datagrams of %d bytes to %s\n", count, runUDPPayload, dst)
		return nil
	default: // tcp; parseTarget accepted nothing else
		return runTCP(ctx, ns, dst, count, w)
	}
}

// CheckRequest reports what Run would refuse in kind, to and count, so a
// command can say so before it looks for the namespace to send from.
func CheckRequest(kind, to string, count int) error {
	_, err := parseRequest(kind, to, count)
	return err
}

// parseRequest checks kind, --to and -c before anything touches a namespace.
// A count of 0 is refused like a negative one: sending the default instead
// would not be what was asked.
func parseRequest(kind, to string, count int) (netip.AddrPort, error) {
	dst, err := parseTarget(kind, to)
	if err != nil {
		return dst, err
	}
	if count < 1 {
		return dst, usageError(fmt.Sprintf("-c %d: want a count of at least 1 (the default is %d)", count, DefaultCount))
	}
	return dst, nil
}

// parseTarget checks kind and --to.
func parseTarget(kind, to string) (netip.AddrPort, error) {
	want := usageError(fmt.Sprintf("--to %q: want ADDR for ping, ADDR:PORT for tcp and udp", to))
	switch kind {
	case "ping":
		a, err := netip.ParseAddr(to)
		if err != nil {
			return netip.AddrPort{}, want
		}
		if !a.Unmap().Is4() {
			return netip.AddrPort{}, usageError(fmt.Sprintf("--to %q: only IPv4 addresses are supported", to))
		}
		return netip.AddrPortFrom(a.Unmap(), 0), nil
	case "tcp", "udp":
		ap, err := netip.ParseAddrPort(to)
		if err != nil {
			return netip.AddrPort{}, want
		}
		if !ap.Addr().Unmap().Is4() {
			return netip.AddrPort{}, usageError(fmt.Sprintf("--to %q: only IPv4 addresses are supported", to))
		}
		if ap.Port() == 0 {
			return netip.AddrPort{}, usageError(fmt.Sprintf("--to %q: port 0 is not a destination", to))
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	default:
		return netip.AddrPort{}, usageError(fmt.Sprintf("unknown traffic kind %q: want ping, tcp or udp", kind))
	}
}

func runPing(ctx context.Context, ns *namespace.NS, dst netip.Addr, count int, w io.Writer) error {
	fmt.Fprintln(w, PingHeader(dst))
	res, err := Ping(ctx, ns, dst, PingOptions{Count: count})
	if res == nil {
		return err
	}
	for _, l := range PingLines(res) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprint(w, "\n"+PingStatistics(res))
	if err != nil {
		return err
	}
	if res.Received == 0 {
		return fmt.Errorf("ping %s: %w", dst, ErrNoReply)
	}
	return nil
}

// PingHeader is ping(8)'s first line for a ping of dst with the default
// payload: "PING 127.0.0.1 56(84) bytes of data.".
func PingHeader(dst netip.Addr) string {
	return fmt.Sprintf("PING %s %d(%d) bytes of data.", dst, DefaultPayload, DefaultPayload+28)
}

// PingLines are ping(8)'s lines for what a ping saw, one per message, in
// arrival order: replies with their round-trip times, requests of ours
// that came back, duplicates and ICMP errors.
func PingLines(res *PingResult) []string {
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	for i, e := range res.Replies {
		lines = append(lines, line{e.At, fmt.Sprintf("%d bytes from %s: icmp_seq=%d ttl=%d time=%s ms",
			e.PayloadLen+8, e.From, e.Seq, e.TTL, formatMS(res.RTTs[i]))})
	}
	for _, e := range res.Requests {
		lines = append(lines, line{e.At, fmt.Sprintf("%d bytes from %s: icmp_seq=%d ttl=%d: our echo request came back (id %d)",
			e.PayloadLen+8, e.From, e.Seq, e.TTL, e.ID)})
	}
	for _, e := range res.Other {
		text := fmt.Sprintf("From %s icmp_seq=%d %s", e.From, e.Seq, icmpError(e))
		if e.Type == ipv4.ICMPTypeEchoReply {
			text = fmt.Sprintf("%d bytes from %s: icmp_seq=%d ttl=%d (DUP!)", e.PayloadLen+8, e.From, e.Seq, e.TTL)
		}
		lines = append(lines, line{e.At, text})
	}
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	return out
}

// PingStatistics is ping(8)'s closing block for res: the statistics line
// and, when something was answered, the round-trip times.
func PingStatistics(res *PingResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s ping statistics ---\n", res.Dst)
	errs := ""
	if res.Errors > 0 {
		errs = fmt.Sprintf(", +%d errors", res.Errors)
	}
	fmt.Fprintf(&b, "%d packets transmitted, %d received%s, %.6g%% packet loss, time %dms\n",
		res.Sent, res.Received, errs, 100*res.Loss(), res.Elapsed.Milliseconds())
	if len(res.RTTs) > 0 {
		lo, avg, hi, mdev := rttStats(res.RTTs)
		fmt.Fprintf(&b, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", ms(lo), ms(avg), ms(hi), ms(mdev))
	}
	return b.String()
}

func runTCP(ctx context.Context, ns *namespace.NS, dst netip.AddrPort, count int, w io.Writer) error {
	for range count {
		res, err := TCPConnect(ctx, ns, dst, []byte(runTCPPayload))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s -> %s: connected, sent %d bytes, received %d bytes\n",
			res.Local, res.Remote, res.Sent, len(res.Reply))
	}
	return nil
}

// icmpError names an ICMP error the way ping(8) does.
func icmpError(e Echo) string {
	switch e.Type {
	case ipv4.ICMPTypeDestinationUnreachable:
		switch e.Code {
		case 0:
			return "Destination Net Unreachable"
		case 1:
			return "Destination Host Unreachable"
		case 2:
			return "Destination Protocol Unreachable"
		case 3:
			return "Destination Port Unreachable"
		case 4:
			return "Frag needed and DF set"
		case 13:
			return "Packet filtered"
		}
		return fmt.Sprintf("Destination Unreachable, code %d", e.Code)
	case ipv4.ICMPTypeTimeExceeded:
		if e.Code == 0 {
			return "Time to live exceeded"
		}
		return "Frag reassembly time exceeded"
	}
	return fmt.Sprintf("%s, code %d", e.Type, e.Code)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// formatMS prints an RTT with ping(8)'s precision: three significant digits
// for short times.
func formatMS(d time.Duration) string {
	v := ms(d)
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f", v)
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// rttStats are ping(8)'s min/avg/max/mdev, mdev being the standard deviation.
func rttStats(rtts []time.Duration) (lo, avg, hi, mdev time.Duration) {
	lo, hi = slices.Min(rtts), slices.Max(rtts)
	var sum, sq float64
	for _, r := range rtts {
		sum += float64(r)
		sq += float64(r) * float64(r)
	}
	n := float64(len(rtts))
	mean := sum / n
	return lo, time.Duration(mean), hi, time.Duration(math.Sqrt(math.Max(0, sq/n-mean*mean)))
}
