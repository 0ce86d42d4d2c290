package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A Buffer is a trace instance of xdplab's own (tracefs' instances/NAME):
// a ring buffer that records the events enabled in it, for the tasks it is
// told to, and that no other reader empties. The machine's own trace, which
// bpf_trace_printk writes to, is shared by every learner and every tool: a
// reader of its trace_pipe takes each line away from everyone else, and
// anyone may clear it or turn it off. A Buffer sees the same events, and
// nobody else's reading or clearing touches it.
type Buffer struct {
	Name string
	dir  string
	opts BufferOptions
}

// BufferOptions say what a Buffer records.
type BufferOptions struct {
	// Events are the events it records, as group/name
	// ("bpf_trace/bpf_trace_printk").
	Events []string
	// PIDs limits it to these tasks (threads' ids); none: every task.
	PIDs []int
	// Stacks records the kernel stack of every event, with addresses, so
	// an event can be traced back to the BPF program that caused it.
	Stacks bool
	// SizeKB is each CPU's ring, in KiB; 0 keeps the kernel's default.
	SizeKB int
}

// Prefix is how xdplab's buffers are named: xdplab-<instance>-<lab>-<what>.
// Neither instance nor lab names hold a '-', so the prefix of an instance,
// or of one of its labs, names its buffers and no one else's.
func Prefix(instance, lab string) string {
	if lab == "" {
		return "xdplab-" + instance + "-"
	}
	return "xdplab-" + instance + "-" + lab + "-"
}

func instancesDir() string { return filepath.Join(Dir, "instances") }

// NewBuffer creates the buffer name, after removing one of the same name
// that a killed command left; its events are off until Start.
func NewBuffer(name string, o BufferOptions) (*Buffer, error) {
	if err := Need("a trace buffer"); err != nil {
		return nil, err
	}
	b := &Buffer{Name: name, dir: filepath.Join(instancesDir(), name), opts: o}
	if err := removeBuffer(b.dir); err != nil {
		return nil, err
	}
	if err := os.Mkdir(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create trace buffer %s: %w", b.dir, err)
	}
	settings := [][2]string{}
	if o.SizeKB > 0 {
		settings = append(settings, [2]string{"buffer_size_kb", strconv.Itoa(o.SizeKB)})
	}
	if o.Stacks {
		settings = append(settings, [2]string{"options/stacktrace", "1"}, [2]string{"options/sym-addr", "1"})
	}
	if len(o.PIDs) > 0 {
		var pids []string
		for _, p := range o.PIDs {
			pids = append(pids, strconv.Itoa(p))
		}
		settings = append(settings, [2]string{"set_event_pid", strings.Join(pids, " ")})
	}
	for _, s := range settings {
		if err := b.write(s[0], s[1]); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

func (b *Buffer) write(file, value string) error {
	p := filepath.Join(b.dir, file)
	if err := os.WriteFile(p, []byte(value), 0); err != nil {
		return fmt.Errorf("trace buffer %s: write %q to %s: %w", b.Name, value, p, err)
	}
	return nil
}

// Start turns the buffer's events on, Stop off. The write that turns them
// on is itself the first thing a PID the buffer follows can be recorded
// doing.
func (b *Buffer) Start() error { return b.enable("1") }

// Stop turns the buffer's events off.
func (b *Buffer) Stop() error { return b.enable("0") }

func (b *Buffer) enable(v string) error {
	for _, ev := range b.opts.Events {
		if err := b.write(filepath.Join("events", ev, "enable"), v); err != nil {
			return err
		}
	}
	return nil
}

// Read returns what the buffer holds, without taking it out (the trace
// file, which does not consume).
func (b *Buffer) Read() ([]Entry, error) {
	f, err := os.Open(filepath.Join(b.dir, "trace"))
	if err != nil {
		return nil, fmt.Errorf("read trace buffer %s: %w", b.Name, err)
	}
	defer f.Close()
	return Parse(f)
}

// Follow calls fn with the entries as they come (the buffer's trace_pipe,
// which takes them out of this buffer only) until ctx ends or fn fails.
func (b *Buffer) Follow(ctx context.Context, fn func([]Entry) error) error {
	p := filepath.Join(b.dir, "trace_pipe")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(fd)
	var (
		parser  Parser
		partial string // a line cut by the end of a read
		buf     = make([]byte, 64<<10)
	)
	for ctx.Err() == nil {
		// Poll with a timeout, so Ctrl-C is noticed; an idle pipe means
		// every entry read so far is whole.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int((200 * time.Millisecond).Milliseconds()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll %s: %w", p, err)
		}
		if n == 0 {
			if partial != "" {
				parser.Feed(partial)
				partial = ""
			}
			if err := fn(parser.Take(true)); err != nil {
				return err
			}
			continue
		}
		r, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		lines := strings.Split(partial+string(buf[:r]), "\n")
		partial = lines[len(lines)-1]
		for _, l := range lines[:len(lines)-1] {
			parser.Feed(l)
		}
		if err := fn(parser.Take(false)); err != nil {
			return err
		}
	}
	return nil
}

// Close turns the events off and removes the buffer.
func (b *Buffer) Close() error {
	return removeBuffer(b.dir)
}

// removeBuffer turns a buffer's events off and removes it, if it is there.
// A buffer whose events are on cannot be removed (EBUSY), nor one a
// reader holds open.
func removeBuffer(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// Every event of the buffer, whichever its owner enabled.
	os.WriteFile(filepath.Join(dir, "events", "enable"), []byte("0"), 0)
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove trace buffer %s: %w", dir, err)
	}
	return nil
}

// RemoveBuffers removes the buffers whose names start with prefix (see
// Prefix), left by commands that were killed, and returns their names. A
// buffer that a running command still reads stays: that command removes
// it when it ends.
func RemoveBuffers(prefix string) ([]string, error) {
	if !Mounted() {
		return nil, nil // no tracefs, so no buffer either
	}
	entries, err := os.ReadDir(instancesDir())
	if err != nil {
		return nil, fmt.Errorf("list trace buffers: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		err := removeBuffer(filepath.Join(instancesDir(), e.Name()))
		switch {
		case errors.Is(err, unix.EBUSY):
			// Open in a watch that still runs.
		case err != nil:
			errs = append(errs, err)
		default:
			removed = append(removed, e.Name())
		}
	}
	return removed, errors.Join(errs...)
}

// Buffers lists the buffers whose names start with prefix.
func Buffers(prefix string) []string {
	entries, _ := os.ReadDir(instancesDir())
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// MarkEvent is the event name of a marker (Mark).
const MarkEvent = "tracing_mark_write"

// Mark writes text into the buffer as an entry of its own (its
// trace_marker), between what was recorded before and after: a check
// marks where each of its steps begins.
func (b *Buffer) Mark(text string) error { return b.write("trace_marker", text) }
