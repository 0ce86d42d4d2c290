package xdpcap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/packet"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// The chain step's check tells a program that hands UDP over to xdp_udp
// from one that decides UDP itself: with jmp_table's slot emptied for a
// moment the tail call fails, so every UDP datagram must go to
// XDP_ABORTED, and everything else must still pass. The slot is emptied
// under an undo record (labs.Env.WithUndo), so a check killed in that
// moment has xdp_udp put back by the next command on the instance.

// undoChain names the check's undo record.
const undoChain = "chain"

// chainChange is what the check changes for a while: the slot it empties.
type chainChange struct {
	Slot uint32 `json:"slot"`
}

// unchainedDatagrams is how many datagrams to each port the check sends
// while the slot is empty.
const unchainedDatagrams = 2

// unchainedSeen is what a capture at every hook slot saw while jmp_table's
// slot was empty.
type unchainedSeen struct {
	pinged grade.Pinged
	got    captured
	// failure says why sending UDP stopped early, when it did.
	failure error
}

func (s *unchainedSeen) isEcho(f *packet.Frame) bool { return mix{pinged: s.pinged}.isEcho(f) }

// isUDP matches the datagrams sent while the slot was empty.
func isUDP(f *packet.Frame) bool {
	return f.Has(packet.LayerUDP) && (f.UDP.DstPort == dropPort || f.UDP.DstPort == passPort)
}

// runUnchained empties jmp_table's slot, sends pings and UDP to ports 9
// and 7777 while a capture holds every hook slot, and puts xdp_udp back.
func (c *checker) runUnchained(ctx context.Context) error {
	return c.env.WithUndo(c.lab, undoChain, chainChange{Slot: chainSlot}, func() error {
		jmp, err := grade.OpenMap(c.env, chainMap, false)
		if err != nil {
			return err
		}
		defer jmp.Close()
		if err := jmp.Delete(uint32(chainSlot)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("empty %s[%d] for a moment: %w", chainMap, chainSlot, err)
		}
		s, err := c.start(capture.Options{Hook: c.hook})
		if err != nil {
			return err
		}
		seen := &unchainedSeen{}
		seen.pinged, err = grade.Pings(ctx, c.sender, c.dut.Addr.Addr(), pings)
		if err == nil {
			for _, port := range []uint16{dropPort, passPort} {
				if err := traffic.UDP(ctx, c.sender.NS, netip.AddrPortFrom(c.dut.Addr.Addr(), port), unchainedDatagrams, payloadSize); err != nil {
					if ctx.Err() != nil {
						break
					}
					seen.failure = err
				}
			}
			err = ctx.Err()
		}
		if err == nil {
			s.waitFor(ctx, nil, pings+2*unchainedDatagrams)
		}
		got, serr := s.stop()
		if err := errors.Join(err, serr); err != nil {
			return err
		}
		seen.got = got
		c.unchained = seen
		return nil
	})
}

// Undo puts xdp_udp back in the slot the check emptied. It is idempotent,
// and a lab whose pins are gone has nothing to put back.
func (*Lab) Undo(env *labs.Env, rec labs.UndoRecord) error {
	if rec.Kind != undoChain {
		return fmt.Errorf("xdpcap has no undo for a %q record", rec.Kind)
	}
	var ch chainChange
	if err := json.Unmarshal(rec.Data, &ch); err != nil {
		return fmt.Errorf("undo record of the check: %w", err)
	}
	jmp, err := ebpf.LoadPinnedMap(env.Pin(chainMap), nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", chainMap, err)
	}
	defer jmp.Close()
	prog, err := ebpf.LoadPinnedProgram(env.Pin(chainProgPin), nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", chainProg, err)
	}
	defer prog.Close()
	if err := jmp.Put(ch.Slot, prog); err != nil {
		return fmt.Errorf("put %s back in %s[%d]: %w", chainProg, chainMap, ch.Slot, err)
	}
	return nil
}

// tailNotTaken reports whether, with the slot empty, UDP was decided all
// the same: xdp_discard does not hand it over (or hides the failure).
func (c *checker) tailNotTaken() bool {
	u := c.unchained
	if u == nil {
		return false
	}
	fate := u.got.fate(isUDP)
	return total(fate) > 0 && fate[capture.Aborted] == 0
}

// judgeUnchained judges the phase with jmp_table's slot empty.
func (c *checker) judgeUnchained() []labs.Result {
	u := c.unchained
	udp := u.got.fate(isUDP)
	sent := 2 * unchainedDatagrams
	observed := fmt.Sprintf("%d of %d under XDPaborted", udp[capture.Aborted], sent)
	if udp[capture.Aborted] < sent {
		observed += "; " + fateText(udp)
	}
	if u.failure != nil {
		observed += fmt.Sprintf(" (sending failed: %v)", u.failure)
	}
	slot := fmt.Sprintf("%s[%d]", chainMap, chainSlot)
	var hint string
	switch {
	case udp[capture.Drop] > 0 && c.hooked != nil && c.hooked.got.fate(udpTo(dropPort))[capture.Drop] > 0:
		hint = fmt.Sprintf("with %s empty, UDP to port 9 was still dropped: xdp_discard decides UDP itself; hand it over with bpf_tail_call(ctx, &%s, %d) and let %s decide%s",
			slot, chainMap, chainSlot, chainProg, c.ex.tail)
	case udp[capture.Pass] > 0:
		hint = fmt.Sprintf("with %s empty, the tail call fails and xdp_discard goes on after it: the next line must return xdpcap_exit(ctx, &xdpcap_hook, XDP_ABORTED), not pass the datagram%s", slot, c.ex.tail)
	case total(udp) == 0:
		hint = fmt.Sprintf("with %s empty, no hook slot saw the UDP datagrams: after a failed tail call, xdp_discard must return xdpcap_exit(ctx, &xdpcap_hook, XDP_ABORTED), so a capture shows the failure%s", slot, c.ex.tail)
	default:
		hint = fmt.Sprintf("after a failed tail call, return xdpcap_exit(ctx, &xdpcap_hook, XDP_ABORTED)%s", c.ex.tail)
	}
	echo := u.got.fate(u.isEcho)
	echoHint := fmt.Sprintf("only UDP goes through the tail call: xdp_discard passes everything else itself, through xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS)%s", c.ex.tail)
	return []labs.Result{
		labs.Assert(fmt.Sprintf("with %s empty, the UDP datagrams go to XDPaborted: the tail call fails", slot),
			udp[capture.Aborted] == sent && u.failure == nil, fmt.Sprintf("%d of %d under XDPaborted", sent, sent), observed, hint),
		grade.ExactCount(fmt.Sprintf("with %s empty, the echo requests still go to XDPpass", slot), pings, echo[capture.Pass], echoHint),
	}
}
