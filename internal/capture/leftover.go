package capture

import (
	"errors"
	"fmt"
	"os"
)

// Occupancy is what holds the places a capture takes, besides the lab
// itself.
type Occupancy struct {
	// Holders are the programs in the hook's slots, and the program on the
	// lab's link when it is not the lab program.
	Holders []Holder
	// NextProg is the path of a next_prog pin that no front program uses
	// (the link runs the lab program), or "": a killed --entry capture can
	// leave one.
	NextProg string
}

// Stale are the holders whose process is gone.
func (o Occupancy) Stale() []Holder { return o.filter(true) }

// Live are the holders still in use: programs of running captures, and
// programs that are not ours (cloudflare's xdpcap, say), which we cannot
// tell dead from alive.
func (o Occupancy) Live() []Holder { return o.filter(false) }

func (o Occupancy) filter(stale bool) []Holder {
	var out []Holder
	for _, h := range o.Holders {
		if h.Stale == stale {
			out = append(out, h)
		}
	}
	return out
}

// Inspect reports who holds a hook's slots and, with entry, the lab's link;
// it changes nothing.
func Inspect(hook string, entry *EntryPoint) (Occupancy, error) {
	var occ Occupancy
	m, err := OpenHook(hook)
	if err != nil {
		return occ, err
	}
	defer m.Close()
	for a := Action(0); uint32(a) < m.MaxEntries(); a++ {
		h, held, err := slotOwner(m, a)
		if err != nil {
			return occ, err
		}
		if held {
			occ.Holders = append(occ.Holders, h)
		}
	}
	if entry == nil {
		return occ, nil
	}
	e, err := loadEntry(*entry)
	if err != nil {
		return occ, err
	}
	defer e.close()
	cur, err := e.current()
	if err != nil {
		return occ, err
	}
	if cur != e.labID {
		occ.Holders = append(occ.Holders, describe(LinkPlace, cur, entryProgPrefix))
	} else if _, err := os.Lstat(entry.NextProg); err == nil {
		occ.NextProg = entry.NextProg
	}
	return occ, nil
}

// ClearStale removes what killed captures left at a hook and, with entry,
// on the lab's link: their programs in hook slots, their front program (the
// lab program goes back on the link) and a next_prog pin nothing uses. A
// running capture's programs, and programs that are not ours, stay where
// they are. note gets one line for each thing cleared or left alone; the
// count is of the things cleared.
func ClearStale(hook string, entry *EntryPoint, note func(string)) (int, error) {
	occ, err := Inspect(hook, entry)
	if err != nil {
		return 0, err
	}
	cleared := 0
	done := func(s string) { cleared++; note(s) }
	m, err := OpenHook(hook)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	// With no slot to claim, claimable only empties the stale ones.
	if err := claimable(m, hook, nil, done); err != nil {
		return cleared, err
	}
	linkStale := false
	for _, h := range occ.Holders {
		switch {
		case h.Place == LinkPlace && h.Stale:
			linkStale = true
		case h.Stale:
		case h.PID != 0:
			note(fmt.Sprintf("left %s alone: it holds %s, a running capture's", h.Place, h))
		default:
			note(fmt.Sprintf("left %s alone: it holds %s, which is not a program of xdplab capture", h.Place, h))
		}
	}
	if entry != nil && (linkStale || occ.NextProg != "") {
		// openEntry puts the lab program back in place of a dead front
		// program; after that, next_prog is an array nothing calls.
		e, err := openEntry(*entry, done)
		if err != nil {
			return cleared, err
		}
		e.close()
		if err := os.Remove(entry.NextProg); err == nil {
			done(fmt.Sprintf("removed %s: no front program uses it any more", entry.NextProg))
		} else if !errors.Is(err, os.ErrNotExist) {
			return cleared, fmt.Errorf("remove stale next_prog pin: %w", err)
		}
	}
	return cleared, nil
}
