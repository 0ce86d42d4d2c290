package grade

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
)

// PingsAnswered expects every echo request of p answered. An empty name
// becomes "3 pings host -> 192.168.0.2 are answered".
func PingsAnswered(name string, p Pinged, hint string) labs.Result {
	if name == "" {
		name = fmt.Sprintf("%d pings %s -> %s are answered", p.Count, p.From.Node, p.To)
	}
	return labs.Assert(name, p.Received == p.Count && p.Failure == nil, plural(p.Count, "reply", "replies"), describePings(p), hint)
}

// PingsUnanswered expects no echo request of p answered, as when the
// program drops them. An empty name becomes "3 pings host -> 192.168.0.2
// get no reply".
func PingsUnanswered(name string, p Pinged, hint string) labs.Result {
	if name == "" {
		name = fmt.Sprintf("%d pings %s -> %s get no reply", p.Count, p.From.Node, p.To)
	}
	return labs.Assert(name, p.Received == 0 && p.Failure == nil, "0 replies", describePings(p), hint)
}

// String says what the pings saw, as PingsAnswered observes it: "2
// replies (none to seq 3)", with what else came back and why pinging
// stopped, when it did. A lab that judges pings with a condition of its
// own shows this as the observed text.
func (p Pinged) String() string { return describePings(p) }

// describePings says what a ping saw: the replies, the sequence numbers
// left unanswered, and whatever else came back.
func describePings(p Pinged) string {
	s := plural(p.Received, "reply", "replies")
	var missing []string
	for seq := 1; seq <= p.Count && p.Received > 0 && p.Received < p.Count; seq++ {
		if !slices.ContainsFunc(p.Replies, func(e traffic.Echo) bool { return e.Seq == seq }) {
			missing = append(missing, fmt.Sprint(seq))
		}
	}
	if len(missing) > 0 {
		s += " (none to seq " + strings.Join(missing, ", ") + ")"
	}
	if p.Errors > 0 {
		s += fmt.Sprintf("; %s could not be sent (host unreachable)", plural(p.Errors, "request", "requests"))
	}
	if len(p.Requests) > 0 {
		s += fmt.Sprintf("; %s came back from %s", plural(len(p.Requests), "own echo request", "own echo requests"), p.Requests[0].From)
	}
	if len(p.Other) > 0 {
		var other []string
		for i, e := range p.Other {
			if i == 3 {
				other = append(other, "...")
				break
			}
			other = append(other, fmt.Sprintf("%s from %s", e.Type, e.From))
		}
		s += "; also " + strings.Join(other, ", ")
	}
	if p.Failure != nil {
		s += fmt.Sprintf("; pinging stopped: %v", p.Failure)
	}
	return s
}

// DatagramsArrived expects every datagram of d at its sink. An empty name
// becomes "5 UDP datagrams host -> 192.168.0.2:9 arrive".
func DatagramsArrived(name string, d Delivered, hint string) labs.Result {
	if name == "" {
		name = fmt.Sprintf("%s %s -> %s arrive", plural(d.Count, "UDP datagram", "UDP datagrams"), d.From.Node, d.Dst)
	}
	want := Delivered{Count: d.Count, Arrived: d.Count}
	return labs.Assert(name, d.Arrived == d.Count && d.Failure == nil, want.String(), d.String(), hint)
}

// FramesArrived expects every frame of w at its destination, past the
// program. An empty name becomes "3 ICMPv6 echo requests host -> node1/veth1
// arrive".
func FramesArrived(name string, w Written, hint string) labs.Result {
	if name == "" {
		verb := "arrive"
		if w.Count == 1 {
			verb = "arrives"
		}
		name = fmt.Sprintf("%s %s -> %s/%s %s", w.What, w.From.Node, w.To.Node, w.To.Iface, verb)
	}
	want := Written{Count: w.Count, Arrived: w.Count}
	return labs.Assert(name, w.Arrived == w.Count && w.Failure == nil, want.String(), w.String(), hint)
}

// TCPExchanged expects the connection of e made and its payload echoed.
// An empty name becomes "TCP exchange host -> 192.168.0.2:8888 completes".
func TCPExchanged(name string, e Exchanged, hint string) labs.Result {
	if name == "" {
		name = fmt.Sprintf("TCP exchange %s -> %s completes", e.Client.Node, e.Dst)
	}
	want := fmt.Sprintf("connected, %d of %d bytes echoed", len(e.Payload), len(e.Payload))
	got := e.String()
	if e.OK() {
		got = want
	}
	return labs.Assert(name, e.OK(), want, got, hint)
}

// integer is every integer type a counter or a count comes in.
type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// ExactCount expects got to be want.
func ExactCount[N integer](name string, want, got N, hint string) labs.Result {
	return labs.Assert(name, got == want, fmt.Sprint(want), fmt.Sprint(got), hint)
}

// AtLeast expects got to be min or more.
func AtLeast[N integer](name string, min, got N, hint string) labs.Result {
	return labs.Assert(name, got >= min, fmt.Sprintf("at least %d", min), fmt.Sprint(got), hint)
}

// NothingElse expects nothing counted in others, a delta with the keys a
// step meant to move taken out (Except); key names the keys in the
// observed text.
func NothingElse[K comparable](name string, others Counters[K], key func(K) string, hint string) labs.Result {
	return labs.Assert(name, others.Total() == 0, "none", others.Format(key), hint)
}

// EventSeen expects an event among events that carries the fields of
// want. want is a struct (each of its exported fields must match the event
// field of the same name) or a map from field name to value (those fields
// must match); events are structs or maps with string keys. Integers match
// by value whatever their types. When no event matches, the observed text
// names every field in which the closest event differs.
func EventSeen[W, E any](name string, want W, events []E, hint string) labs.Result {
	wf := fieldsOf(reflect.ValueOf(want))
	expected := formatFields(wf)
	if len(events) == 0 {
		return labs.Assert(name, false, expected, "no event", hint)
	}
	var closest []string
	for _, e := range events {
		diff := differences(wf, reflect.ValueOf(e))
		if len(diff) == 0 {
			return labs.Assert(name, true, expected, expected, hint)
		}
		if closest == nil || len(diff) < len(closest) {
			closest = diff
		}
	}
	observed := fmt.Sprintf("%s, none with these fields; the closest differs in %s",
		plural(len(events), "event", "events"), strings.Join(closest, ", "))
	return labs.Assert(name, false, expected, observed, hint)
}

// field is one named value of an event.
type field struct {
	name  string
	value reflect.Value
}

// fieldsOf lists a struct's exported fields in order, or a map's entries
// by key; anything else is one field without a name.
func fieldsOf(v reflect.Value) []field {
	switch v.Kind() {
	case reflect.Struct:
		var out []field
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, field{f.Name, v.Field(i)})
			}
		}
		return out
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return naturalCompare(fmt.Sprint(a), fmt.Sprint(b)) })
		out := make([]field, len(keys))
		for i, k := range keys {
			out[i] = field{fmt.Sprint(k), v.MapIndex(k)}
		}
		return out
	}
	return []field{{"", v}}
}

func formatFields(fs []field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fieldText(f.name, f.value)
	}
	return strings.Join(parts, ", ")
}

func fieldText(name string, v reflect.Value) string {
	s := fmt.Sprint(v)
	if v.IsValid() && v.CanInterface() {
		s = fmt.Sprint(v.Interface())
	}
	if name == "" {
		return s
	}
	return name + "=" + s
}

// differences lists the fields of want in which event differs:
// "Src=3.0.168.192:43910 (want 192.168.0.3:43910)".
func differences(want []field, event reflect.Value) []string {
	var diff []string
	for _, w := range want {
		got, ok := lookup(event, w.name)
		switch {
		case !ok:
			diff = append(diff, fmt.Sprintf("%s missing (want %s)", w.name, fieldText("", w.value)))
		case !sameValue(w.value, got):
			diff = append(diff, fmt.Sprintf("%s (want %s)", fieldText(w.name, got), fieldText("", w.value)))
		}
	}
	return diff
}

// lookup finds a field of an event by name.
func lookup(event reflect.Value, name string) (reflect.Value, bool) {
	if name == "" {
		return event, true
	}
	switch event.Kind() {
	case reflect.Struct:
		if f, ok := event.Type().FieldByName(name); ok && f.IsExported() {
			return event.FieldByIndex(f.Index), true
		}
	case reflect.Map:
		if event.Type().Key().Kind() == reflect.String {
			v := event.MapIndex(reflect.ValueOf(name).Convert(event.Type().Key()))
			return v, v.IsValid()
		}
	}
	return reflect.Value{}, false
}

// sameValue compares two field values: integers by value whatever their
// types, the rest as reflect.DeepEqual does.
func sameValue(a, b reflect.Value) bool {
	for a.Kind() == reflect.Interface && !a.IsNil() {
		a = a.Elem()
	}
	for b.Kind() == reflect.Interface && !b.IsNil() {
		b = b.Elem()
	}
	switch {
	case a.CanInt() && b.CanInt():
		return a.Int() == b.Int()
	case a.CanUint() && b.CanUint():
		return a.Uint() == b.Uint()
	case a.CanInt() && b.CanUint():
		return a.Int() >= 0 && uint64(a.Int()) == b.Uint()
	case a.CanUint() && b.CanInt():
		return b.Int() >= 0 && uint64(b.Int()) == a.Uint()
	}
	if !a.CanInterface() || !b.CanInterface() {
		return false
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// Step is one frame a FrameSequence expects: what to call it and how to
// know it.
type Step struct {
	Name  string
	Match func(witness.Frame) bool
}

// SameFrame matches a frame with exactly these bytes.
func SameFrame(data []byte) func(witness.Frame) bool {
	return func(f witness.Frame) bool { return bytes.Equal(f.Data, data) }
}

// EchoStep is an ICMP echo request (typ 8) or reply (typ 0) from src to
// dst with this id and sequence number, sent by the witnessed interface
// (out) or received by it. Its name reads as the witness's frames do:
// "out 192.168.0.3 > 192.168.1.5: ICMP echo request, id 7, seq 1".
func EchoStep(out bool, typ uint8, src, dst netip.Addr, id, seq uint16) Step {
	var f packet.Frame
	f.Layers = packet.LayerEthernet | packet.LayerIPv4 | packet.LayerICMPv4
	f.IPv4.Src, f.IPv4.Dst = src, dst
	f.ICMPv4.Type, f.ICMPv4.ID, f.ICMPv4.Seq = typ, id, seq
	return Step{
		Name: witness.Frame{Out: out, Packet: f}.String(),
		Match: func(w witness.Frame) bool {
			p := &w.Packet
			return w.Out == out && p.Has(packet.LayerIPv4|packet.LayerICMPv4) &&
				p.IPv4.Src == src && p.IPv4.Dst == dst &&
				p.ICMPv4.Type == typ && p.ICMPv4.ID == id && p.ICMPv4.Seq == seq
		},
	}
}

// FrameSequence expects the steps among a witness's frames, in this order;
// other frames may come between them. When a step is missing, the
// observed text lists the steps seen, the first missing one and the frames
// that came after the last step seen.
func FrameSequence(name string, want []Step, frames []witness.Frame, hint string) labs.Result {
	names := make([]string, len(want))
	for i, s := range want {
		names[i] = s.Name
	}
	expected := strings.Join(names, "; ")
	next := 0 // the first frame after the last step seen
	for i, s := range want {
		at := slices.IndexFunc(frames[next:], s.Match)
		if at < 0 {
			observed := "missing: " + s.Name
			if i > 0 {
				observed = strings.Join(names[:i], "; ") + "; then " + observed
			}
			rest := frames[next:]
			switch {
			case len(rest) == 0 && i == 0:
				observed += " (the witness saw no frame)"
			case len(rest) == 0:
				observed += " (no frame came after)"
			case i == 0:
				observed += fmt.Sprintf(" (the witness saw %s: %s)", plural(len(rest), "frame", "frames"), describeFrames(rest, 3))
			default:
				observed += fmt.Sprintf(" (%s came after: %s)", plural(len(rest), "frame", "frames"), describeFrames(rest, 3))
			}
			return labs.Assert(name, false, expected, observed, hint)
		}
		next += at + 1
	}
	return labs.Assert(name, true, expected, expected, hint)
}

// FrameSequences expects each sequence of steps among a witness's frames,
// each in its own order as FrameSequence does, while the sequences may
// interleave: the exchanges of several pings in flight at once. each says
// in a few words what one sequence is, for the expected text ("3 of 3
// (each: ...)"); the steps themselves show in the observed text when a
// sequence is incomplete: how many are complete, and what the first
// incomplete one lacks.
func FrameSequences(name, each string, want [][]Step, frames []witness.Frame, hint string) labs.Result {
	var incomplete []labs.Result
	for _, steps := range want {
		if r := FrameSequence(name, steps, frames, hint); !r.Pass {
			incomplete = append(incomplete, r)
		}
	}
	complete := fmt.Sprintf("%d of %d", len(want)-len(incomplete), len(want))
	expected := fmt.Sprintf("%d of %d", len(want), len(want))
	if each != "" {
		expected += " (each: " + each + ")"
	}
	if len(incomplete) == 0 {
		return labs.Assert(name, true, expected, complete, hint)
	}
	return labs.Assert(name, false, expected, complete+"; the first incomplete: "+incomplete[0].Observed, hint)
}

// NoFrames expects a witness to have seen none of frames (already filtered
// to what must not appear).
func NoFrames(name string, frames []witness.Frame, hint string) labs.Result {
	observed := "no frame"
	if len(frames) > 0 {
		observed = plural(len(frames), "frame", "frames") + ": " + describeFrames(frames, 3)
	}
	return labs.Assert(name, len(frames) == 0, "no frame", observed, hint)
}

// describeFrames lists up to max frames, one clause each.
func describeFrames(frames []witness.Frame, max int) string {
	var parts []string
	for i, f := range frames {
		if i == max {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, f.String())
	}
	return strings.Join(parts, "; ")
}

// plural is "1 reply", "3 replies".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
