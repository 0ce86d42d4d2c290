package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/filter"
)

// Options say what to capture.
type Options struct {
	// Hook is the pin of an xdpcap hook; needed to capture any XDP action.
	Hook string
	// Actions are the hook slots to capture. Nil means every slot the hook
	// has, unless Entry is set: then nil means none (entry only).
	Actions []Action
	// Entry, if set, also captures packets before the program ran.
	Entry *EntryPoint
	// Filter is a tcpdump expression; "" keeps every packet.
	Filter string
	// PerCPUBuffer is the size of each CPU's perf ring in bytes; default 1 MiB.
	PerCPUBuffer int
	// Latency is the longest a packet waits in the perf ring when too few
	// follow it to wake the reader; default DefaultLatency.
	Latency time.Duration
	// Note receives remarks meant for the user, such as a slot emptied
	// because the capture that held it was killed; nil discards them.
	Note func(string)
}

// DefaultLatency keeps a lone packet's delay below what a person notices.
const DefaultLatency = 20 * time.Millisecond

// DefaultPerCPUBuffer holds a few hundred full-size frames per CPU: enough
// that bursts at lab rates lose nothing.
const DefaultPerCPUBuffer = 1 << 20

// Packet is one captured packet.
type Packet struct {
	Action Action
	// Time is when the capture program ran, from the kernel's monotonic
	// clock converted to wall time.
	Time time.Time
	// Length is the frame's length; Data holds its first min(Length,
	// Snaplen) bytes.
	Length int
	Data   []byte
}

// Stats are one action's counts so far.
type Stats struct {
	Received uint64 // packets the capture program saw
	Matched  uint64 // of those, the ones the filter kept
	Filtered uint64 // and the ones it did not keep
	Lost     uint64 // matched packets that did not fit in the perf ring
	Written  uint64 // packets handed to the caller
}

// Capture is a running capture: its programs sit in the hook slots (and in
// front of the program, with Entry) until Run returns or Close is called.
type Capture struct {
	filter   string
	actions  []Action // in output order: Entry first, then the XDP actions
	hook     *ebpf.Map
	counters *ebpf.Map
	events   *ebpf.Map
	reader   *perf.Reader
	progs    map[Action]*ebpf.Program
	inserted []Action
	entry    *entry
	latency  time.Duration
	clock    clock
	note     func(string)

	written     [Entry + 1]atomic.Uint64
	lostSamples atomic.Uint64

	detachOnce sync.Once
	detachErr  error
}

// Start checks the filter and the hook, loads a capture program per action
// and puts them in place. A bad filter or hook is reported before anything
// is touched.
func Start(opts Options) (_ *Capture, err error) {
	insns, err := filter.Compile(opts.Filter, Snaplen)
	if err != nil {
		return nil, err
	}
	c := &Capture{filter: opts.Filter, progs: map[Action]*ebpf.Program{}, note: opts.Note, latency: opts.Latency}
	if c.latency <= 0 {
		c.latency = DefaultLatency
	}
	if c.note == nil {
		c.note = func(string) {}
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()

	actions := opts.Actions
	if opts.Hook != "" {
		if c.hook, err = OpenHook(opts.Hook); err != nil {
			return nil, err
		}
		if actions == nil && opts.Entry == nil {
			actions = XDPActions[:c.hook.MaxEntries()]
		}
		for _, a := range actions {
			if a >= Entry || uint32(a) >= c.hook.MaxEntries() {
				return nil, errorf(ErrNotHook, "hook %s has no slot for %s: it has %d slots, for actions 0 to %d", opts.Hook, a, c.hook.MaxEntries(), c.hook.MaxEntries()-1)
			}
		}
		if err := claimable(c.hook, opts.Hook, actions, c.note); err != nil {
			return nil, err
		}
	} else if len(actions) > 0 {
		return nil, errors.New("capturing xdp actions needs the hook's pin path")
	}
	if opts.Entry != nil {
		if c.entry, err = openEntry(*opts.Entry, c.note); err != nil {
			return nil, err
		}
		c.actions = append(c.actions, Entry)
	}
	c.actions = append(c.actions, actions...)
	if len(c.actions) == 0 {
		return nil, errors.New("nothing to capture: no xdp action and no entry point")
	}

	if err := c.createMaps(opts.PerCPUBuffer); err != nil {
		return nil, err
	}
	c.clock = newClock()

	for _, a := range actions {
		if err := c.attachExit(a, insns); err != nil {
			return nil, err
		}
	}
	if c.entry != nil {
		if err := c.attachEntry(insns); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Capture) createMaps(perCPU int) error {
	var err error
	c.counters, err = ebpf.NewMap(&ebpf.MapSpec{
		Name: "xdpcap_stats", Type: ebpf.PerCPUArray,
		KeySize: 4, ValueSize: countersLen, MaxEntries: uint32(Entry) + 1,
	})
	if err != nil {
		return fmt.Errorf("create counters map: %w", err)
	}
	c.events, err = ebpf.NewMap(&ebpf.MapSpec{Name: "xdpcap_events", Type: ebpf.PerfEventArray})
	if err != nil {
		return fmt.Errorf("create perf event array: %w", err)
	}
	if perCPU <= 0 {
		perCPU = DefaultPerCPUBuffer
	}
	// Wake up for a batch of samples, not for each: at high rates the
	// per-sample wakeup costs the kernel more than the copy (it made the
	// capture program four times slower). Run reads what stays below the
	// watermark after at most the latency.
	c.reader, err = perf.NewReaderWithOptions(c.events, perCPU, perf.ReaderOptions{Watermark: min(perCPU/4, 64<<10)})
	if err != nil {
		return fmt.Errorf("open perf rings: %w", err)
	}
	return nil
}

// load loads the capture program of one action; frags builds the variant
// for programs that declare xdp.frags (SEC("xdp.frags")), which a tail call
// from such a program needs.
func (c *Capture) load(name string, a Action, insns []bpf.Instruction, next *ebpf.Map, frags bool) (*ebpf.Program, error) {
	maps := programMaps{counters: c.counters.FD(), events: c.events.FD()}
	if next != nil {
		maps.next = next.FD()
	}
	spec, err := captureProgram(name, a, insns, maps)
	if err != nil {
		return nil, err
	}
	if frags {
		spec.Flags |= unix.BPF_F_XDP_HAS_FRAGS
	}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load capture program for %s: the verifier rejected it: %+v", a, ve)
		}
		return nil, fmt.Errorf("load capture program for %s: %w", a, err)
	}
	return prog, nil
}

func (c *Capture) attachExit(a Action, insns []bpf.Instruction) error {
	prog, err := c.load(progName(exitProgPrefix), a, insns, nil, false)
	if err != nil {
		return err
	}
	err = insert(c.hook, a, prog)
	if errors.Is(err, unix.EINVAL) {
		// The hook's owner may be an xdp.frags program: try to match it.
		if fprog, ferr := c.load(progName(exitProgPrefix), a, insns, nil, true); ferr == nil {
			if insert(c.hook, a, fprog) == nil {
				prog.Close()
				prog, err = fprog, nil
			} else {
				fprog.Close()
			}
		}
	}
	if err != nil {
		prog.Close()
		return err
	}
	c.progs[a] = prog
	c.inserted = append(c.inserted, a)
	return nil
}

func (c *Capture) attachEntry(insns []bpf.Instruction) error {
	if err := c.entry.prepare(); err != nil {
		return err
	}
	front, err := c.load(progName(entryProgPrefix), Entry, insns, c.entry.next, false)
	if err != nil && errors.Is(err, unix.EINVAL) {
		// The kernel checks a program against the owner of each PROG_ARRAY
		// it tail-calls through, here the lab program.
		front, err = c.load(progName(entryProgPrefix), Entry, insns, c.entry.next, true)
		if err != nil {
			return fmt.Errorf("%w: the kernel refused the front program as a caller of the lab program through next_prog: they must have the same type (XDP), the same xdp.frags flag and the same JIT state", err)
		}
	}
	if err != nil {
		return err
	}
	c.progs[Entry] = front
	return c.entry.attach(front)
}

// Actions are the captured actions, in the order their pcapng interfaces
// are written: Entry first when capturing it, then the XDP actions.
func (c *Capture) Actions() []Action { return slices.Clone(c.actions) }

// Filter is the tcpdump expression in use.
func (c *Capture) Filter() string { return c.filter }

// PacketWriter is where RunTo hands the packets over.
type PacketWriter interface {
	WritePacket(Packet) error
	// Flush pushes out what the writer buffered. RunTo calls it whenever it
	// has handed over everything the rings held, and at least every
	// MaxHold while packets keep coming, so a capture killed with SIGKILL
	// (no cleanup runs) has lost at most its last moments.
	Flush() error
}

// MaxHold is the longest a delivered packet waits in a PacketWriter's
// buffer while packets keep coming: well within "everything up to the last
// second", and long enough that at high rates the flushes cost nothing next
// to the writes a full buffer makes anyway.
const MaxHold = 250 * time.Millisecond

// Run is RunTo with a function for a writer that holds nothing back.
func (c *Capture) Run(ctx context.Context, fn func(Packet) error) error {
	return c.RunTo(ctx, funcWriter(fn))
}

type funcWriter func(Packet) error

func (f funcWriter) WritePacket(p Packet) error { return f(p) }
func (funcWriter) Flush() error                 { return nil }

// RunTo reads packets and hands each to w until ctx ends or w fails. It then
// takes the capture programs out of the hook (and puts the lab program back
// on its link), reads what they sent before that, flushes w and returns. A
// cancelled ctx is the normal end and returns nil.
//
// Each CPU has its own perf ring and they are read one after the other, so
// packets are held back briefly (at most the latency, or maxPending of
// them) and handed over in the order the kernel saw them.
func (c *Capture) RunTo(ctx context.Context, w PacketWriter) error {
	stop := context.AfterFunc(ctx, func() {
		c.detach()
		c.reader.Flush()
	})
	defer stop()

	var (
		rec       perf.Record
		flushed   bool
		pending   []Packet
		since     time.Time // when the oldest pending packet was read
		unflushed bool      // w holds packets it may not have written out
		lastFlush = time.Now()
	)
	deliver := func() error {
		slices.SortStableFunc(pending, func(a, b Packet) int { return a.Time.Compare(b.Time) })
		for _, p := range pending {
			if err := w.WritePacket(p); err != nil {
				return err
			}
			c.written[p.Action].Add(1)
		}
		unflushed = unflushed || len(pending) > 0
		pending = pending[:0]
		return nil
	}
	flush := func() error {
		if !unflushed {
			return nil
		}
		unflushed, lastFlush = false, time.Now()
		return w.Flush()
	}
	// drained hands over what is pending and flushes: the reader has read
	// every ring, so nothing older is on its way.
	drained := func() error {
		return errors.Join(deliver(), flush())
	}
	for {
		if !flushed {
			c.reader.SetDeadline(time.Now().Add(c.latency))
		}
		err := c.reader.ReadInto(&rec)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded) && !flushed:
			// Every ring is read, including what sat below the watermark.
			if err := drained(); err != nil {
				return errors.Join(err, c.detach())
			}
			continue
		case errors.Is(err, perf.ErrFlushed):
			// Everything up to the flush is read; pick up what the
			// programs sent while they were being taken out.
			flushed = true
			c.reader.SetDeadline(time.Now())
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			return errors.Join(drained(), c.detach())
		case err != nil:
			return errors.Join(fmt.Errorf("read perf ring: %w", err), drained(), c.detach())
		}
		if rec.LostSamples > 0 {
			c.lostSamples.Add(rec.LostSamples)
			continue
		}
		p, ok := c.packet(rec.RawSample)
		if !ok {
			continue
		}
		if len(pending) == 0 {
			since = time.Now()
		}
		pending = append(pending, p)
		if len(pending) >= maxPending || time.Since(since) >= c.latency {
			err := deliver()
			if err == nil && time.Since(lastFlush) >= MaxHold {
				err = flush()
			}
			if err != nil {
				return errors.Join(err, c.detach())
			}
		}
	}
}

// maxPending bounds the packets held back for ordering.
const maxPending = 1024

func (c *Capture) packet(sample []byte) (Packet, bool) {
	m, ok := parseMeta(sample)
	// The sample is padded to 8 bytes: slice by the length the program
	// recorded, never by the sample's.
	if !ok || m.Action > uint32(Entry) || int(m.CapLen) > len(sample)-metaSize || m.CapLen > m.Len {
		return Packet{}, false
	}
	return Packet{
		Action: Action(m.Action),
		Time:   c.clock.wall(m.Ktime),
		Length: int(m.Len),
		Data:   slices.Clone(sample[metaSize : metaSize+int(m.CapLen)]),
	}, true
}

// detach empties the hook slots we filled and restores the lab program on
// its link, once.
func (c *Capture) detach() error {
	c.detachOnce.Do(func() {
		var errs []error
		for _, a := range c.inserted {
			if err := release(c.hook, a, c.progs[a]); err != nil {
				errs = append(errs, err)
			}
		}
		if c.entry != nil {
			if err := c.entry.close(); err != nil {
				errs = append(errs, err)
			}
		}
		c.detachErr = errors.Join(errs...)
	})
	return c.detachErr
}

// Stats reads the counters of every captured action.
func (c *Capture) Stats() (map[Action]Stats, error) {
	out := map[Action]Stats{}
	for _, a := range c.actions {
		var per []counters
		if err := c.counters.Lookup(uint32(a), &per); err != nil {
			return nil, fmt.Errorf("read capture counters: %w", err)
		}
		s := Stats{Written: c.written[a].Load()}
		for _, v := range per {
			s.Received += v.Received
			s.Matched += v.Matched
			s.Filtered += v.Filtered
			s.Lost += v.Lost
		}
		out[a] = s
	}
	return out, nil
}

// LostSamples is what the perf rings reported lost; it equals the sum of the
// actions' Lost.
func (c *Capture) LostSamples() uint64 { return c.lostSamples.Load() }

// Close detaches (if Run did not already) and frees everything.
func (c *Capture) Close() error {
	err := c.detach()
	if c.reader != nil {
		c.reader.Close()
	}
	for _, p := range c.progs {
		p.Close()
	}
	for _, m := range []*ebpf.Map{c.hook, c.counters, c.events} {
		if m != nil {
			m.Close()
		}
	}
	return err
}

// FormatStats renders counts as the status line, the way xdpcap prints
// them: "drop: 5/5/0  pass: 8/3/0  (received/matched/lost)".
func FormatStats(actions []Action, st map[Action]Stats) string {
	var b strings.Builder
	for _, a := range actions {
		s := st[a]
		fmt.Fprintf(&b, "%s: %d/%d/%d  ", a, s.Received, s.Matched, s.Lost)
	}
	b.WriteString("(received/matched/lost)")
	return b.String()
}
