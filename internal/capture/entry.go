package capture

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// EntryPoint says where a lab's program is attached, for capturing before it
// runs: the "write your own xdpdump" way. A front program that captures, then
// tail-calls the lab program through a one-slot PROG_ARRAY (next_prog),
// takes the lab program's place on the pinned bpf_link; the original comes
// back when the capture ends.
type EntryPoint struct {
	// Link is the pin of the bpf_link that attaches the lab program.
	Link string
	// Program is the pin of the lab program itself.
	Program string
	// NextProg is where to pin the next_prog array. Pinned, so that the lab
	// program keeps running behind the front program even if the capture is
	// killed before it can put the original back: a PROG_ARRAY is emptied
	// when its last user reference (fd or pin) goes.
	NextProg string
}

// entry is an attached front program.
type entry struct {
	point EntryPoint
	link  link.Link
	lab   *ebpf.Program
	labID ebpf.ProgramID
	// labName is the lab program's name, for messages.
	labName string
	next    *ebpf.Map
	front   *ebpf.Program
}

// LinkPlace is the Place of a Holder on the lab's link.
const LinkPlace = "the lab's link"

// loadEntry opens the lab's link and program; it changes nothing.
func loadEntry(p EntryPoint) (_ *entry, err error) {
	e := &entry{point: p}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.link, err = link.LoadPinnedLink(p.Link, nil)
	if err != nil {
		return nil, fmt.Errorf("open the lab's xdp link %s: %w", p.Link, err)
	}
	e.lab, err = ebpf.LoadPinnedProgram(p.Program, nil)
	if err != nil {
		return nil, fmt.Errorf("open the lab's program %s: %w (the lab pins it at up; `down` and `up` again if it is missing)", p.Program, err)
	}
	labInfo, err := e.lab.Info()
	if err != nil {
		return nil, fmt.Errorf("lab program info: %w", err)
	}
	e.labID, _ = labInfo.ID()
	e.labName = labInfo.Name
	return e, nil
}

// openEntry loads the link and the lab program and makes sure the link runs
// the lab program: a link still running the front program of a killed
// capture is restored first; one running someone else's front program is
// refused.
func openEntry(p EntryPoint, note func(string)) (_ *entry, err error) {
	e, err := loadEntry(p)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	cur, err := e.current()
	if err != nil {
		return nil, err
	}
	if cur == e.labID {
		return e, nil
	}
	o := describe(LinkPlace, cur, entryProgPrefix)
	switch {
	case o.PID != 0 && o.Stale:
		if err := e.link.Update(e.lab); err != nil {
			return nil, fmt.Errorf("put the lab program back on its link: %w", err)
		}
		note(fmt.Sprintf("put the lab program %s back on its link: it still ran %s", e.labName, o))
		return e, nil
	case o.PID != 0:
		return nil, errorf(ErrBusy, "the lab's link runs %s in front of the lab program: another `xdplab capture --entry` is running; stop it first", o)
	}
	return nil, errorf(ErrBusy, "the lab's link runs %s, not the lab program %s (id %d): something else replaced it, so --entry would not know what to chain to", o, e.labName, e.labID)
}

func (e *entry) current() (ebpf.ProgramID, error) {
	info, err := e.link.Info()
	if err != nil {
		return 0, fmt.Errorf("read the lab's xdp link: %w", err)
	}
	return info.Program, nil
}

// prepare creates and pins next_prog holding the lab program. Putting the lab
// program in first makes it the array's owner, so the front program loaded
// afterwards is checked against it by the verifier.
func (e *entry) prepare() error {
	next, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: "next_prog", Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 1,
	})
	if err != nil {
		return fmt.Errorf("create next_prog array: %w", err)
	}
	e.next = next
	if err := next.Put(uint32(0), e.lab); err != nil {
		return fmt.Errorf("put the lab program in next_prog: %w", err)
	}
	// A pin left by a killed capture is an old array that nothing uses now.
	if err := os.Remove(e.point.NextProg); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove old next_prog pin: %w", err)
	}
	if err := next.Pin(e.point.NextProg); err != nil {
		return fmt.Errorf("pin next_prog: %w", err)
	}
	return nil
}

// attach swaps the front program in, atomically: the link never has no
// program, so no packet passes unprocessed.
func (e *entry) attach(front *ebpf.Program) error {
	if err := e.link.Update(front); err != nil {
		return fmt.Errorf("replace the lab program with the capture front program on its link: %w", err)
	}
	e.front = front
	return nil
}

// close puts the lab program back (only if the link still runs our front
// program), removes the next_prog pin and closes everything.
func (e *entry) close() error {
	var errs []error
	if e.front != nil && e.link != nil {
		finfo, ferr := e.front.Info()
		cur, cerr := e.current()
		if ferr == nil && cerr == nil {
			fid, _ := finfo.ID()
			if cur == fid {
				// ENOLINK: the link was severed (`down` deleted the
				// interface), so there is nothing to put back.
				if err := e.link.Update(e.lab); err != nil && !errors.Is(err, unix.ENOLINK) {
					errs = append(errs, fmt.Errorf("put the lab program back on its link: %w", err))
				}
			}
		}
	}
	if e.next != nil {
		if e.next.IsPinned() {
			if err := e.next.Unpin(); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("unpin next_prog: %w", err))
			}
		}
		e.next.Close()
	}
	if e.link != nil {
		e.link.Close() // the pin keeps it attached
	}
	if e.lab != nil {
		e.lab.Close()
	}
	return errors.Join(errs...)
}
