package icmpdrop

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/witness"
	"github.com/xdplab/xdplab/labs"
)

// The intro's front end attaches the program and waits: icmp_drop has no
// map and prints nothing, and the learner sees it work through ping. So
// watch shows what the program did instead, without touching it: per
// protocol, the frames that reached it and the frames it passed, from
// packet sockets on either side of it. On lo one socket sees both, since
// each frame leaves lo (before XDP) and, when passed, comes back in; on
// veth1 the host's veth0 sees what goes to node1, and node1's veth1 what
// the program passed. The difference is what it dropped.

// Tally counts the frames of one protocol (or EtherType, for frames that
// are not IPv4) that reached the program, and those it passed.
type Tally struct{ Arrived, Passed int }

// protoKey names a frame's protocol as the watch lines do: the IPv4
// protocol ("IPPROTO_ICMP"), or the EtherType of a frame that is not IPv4
// ("ARP", "IPv6").
func protoKey(f witness.Frame) string {
	if f.Packet.Has(packet.LayerIPv4) {
		return labs.IPProtoName(uint32(f.Packet.IPv4.Protocol))
	}
	if f.Packet.Has(packet.LayerEthernet) {
		return packet.EtherTypeName(f.Packet.Ethernet.Type)
	}
	return "unknown"
}

// FormatTallies writes one line per protocol, in name order: "IPPROTO_ICMP
// : 3 dropped, 0 passed". A frame counted on its way in but not yet on its
// way out shows as dropped until it is.
func FormatTallies(t map[string]Tally) string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		c := t[k]
		fmt.Fprintf(&b, "%s : %d dropped, %d passed\n", k, max(c.Arrived-c.Passed, 0), c.Passed)
	}
	return b.String()
}

// Watch prints, once a second while something changed, the frames of each
// protocol that icmp_drop dropped and passed since watch started, until ctx
// ends. It sends nothing: ping from another terminal, as the intro does.
func (*Lab) Watch(ctx context.Context, env *labs.Env, w io.Writer) error {
	ex := exercises[env.Options.Step]
	dut := env.Topo.MustRole("dut")
	var before, after *witness.Witness // before: arrivals at the program; after: what it passed
	if ex.iface == "lo" {
		lo, err := witness.Open(dut.NS, "lo", witness.Options{Buffer: 4 << 20})
		if err != nil {
			return err
		}
		defer lo.Close()
		before = lo
	} else {
		sender := env.Topo.MustRole("sender")
		var err error
		if before, err = witness.Open(sender.NS, sender.Iface, witness.Options{Direction: witness.Out, Buffer: 4 << 20}); err != nil {
			return err
		}
		defer before.Close()
		if after, err = witness.Open(dut.NS, dut.Iface, witness.Options{Direction: witness.In, Buffer: 4 << 20}); err != nil {
			return err
		}
		defer after.Close()
	}
	fmt.Fprintf(w, "icmp_drop on node1/%s: frames dropped and passed per protocol since now, once a second while they change (Ctrl-C stops)\n", ex.iface)
	fmt.Fprintf(w, "try: %s\n\n", tryCommand(env, ex))
	tallies := map[string]Tally{}
	shown := ""
	return labs.Every(ctx, time.Second, func() error {
		frames, err := before.Frames(0)
		if err != nil {
			return err
		}
		for _, f := range frames {
			c := tallies[protoKey(f)]
			if f.Out || after != nil {
				c.Arrived++
			} else {
				c.Passed++
			}
			tallies[protoKey(f)] = c
		}
		if after != nil {
			frames, err := after.Frames(0)
			if err != nil {
				return err
			}
			for _, f := range frames {
				c := tallies[protoKey(f)]
				c.Passed++
				tallies[protoKey(f)] = c
			}
		}
		if s := FormatTallies(tallies); s != shown {
			fmt.Fprintln(w, s)
			shown = s
		}
		return nil
	})
}

// tryCommand is the ping that shows the step's program at work.
func tryCommand(env *labs.Env, ex exercise) string {
	inst := labs.InstanceFlag(env.Instance)
	if ex.iface == "lo" {
		return "sudo xdplab exec" + inst + " node1 -- ping -c 3 127.0.0.1"
	}
	return "sudo xdplab traffic ping --from host --to " + env.Topo.MustRole("dut").Addr.Addr().String() + inst
}
