package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config is a whole capture as `xdplab capture` runs it.
type Config struct {
	Options
	// Output is "" to print one line per packet to Out, "-" to stream pcapng
	// to Out, or a file to write pcapng to.
	Output string
	// Out is standard output; Status receives the once-a-second counts and
	// the final line (standard error).
	Out, Status io.Writer
	// Interval between status lines; default one second.
	Interval time.Duration
}

// Record captures until ctx ends (Ctrl-C), then empties the hook slots,
// completes the output and prints the final counts. The filter and the hook
// are checked before the output file is created, so a bad one leaves
// nothing behind.
func Record(ctx context.Context, cfg Config) (err error) {
	if cfg.Status == nil {
		cfg.Status = io.Discard
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Note == nil {
		cfg.Note = func(s string) { fmt.Fprintln(cfg.Status, s) }
	}
	c, err := Start(cfg.Options)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}()

	var sink PacketWriter
	var pcapng *PcapngWriter
	var file *os.File
	switch cfg.Output {
	case "":
		sink = funcWriter(func(p Packet) error {
			_, err := fmt.Fprintln(cfg.Out, Summary(p))
			return err
		})
	default:
		out := cfg.Out
		if cfg.Output != "-" {
			if file, err = os.Create(cfg.Output); err != nil {
				return fmt.Errorf("create capture file: %w", err)
			}
			defer func() {
				if cerr := file.Close(); err == nil && cerr != nil {
					err = fmt.Errorf("close %s: %w", cfg.Output, cerr)
				}
			}()
			out = file
		}
		if pcapng, err = NewPcapngWriter(out, c.Actions(), c.Filter(), cfg.Output == "-"); err != nil {
			return err
		}
		// Written as the packets come, block by block, so a capture
		// killed with SIGKILL leaves a file tcpdump reads to its last
		// flush; only the statistics blocks are missing then.
		sink = pcapng
	}

	what := "everything"
	if c.Filter() != "" {
		what = fmt.Sprintf("%q", c.Filter())
	}
	fmt.Fprintf(cfg.Status, "capturing %s at %s (Ctrl-C stops)\n", what, actionList(c.Actions()))

	// Counts once a second, when they changed, so an idle capture is quiet.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(cfg.Interval)
		defer t.Stop()
		last := FormatStats(c.Actions(), nil)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if why := gone(cfg); why != "" {
				// Nothing would ever arrive or be read again: end as Ctrl-C would.
				fmt.Fprintln(cfg.Status, why)
				cancel()
				return
			}
			st, err := c.Stats()
			if err != nil {
				continue
			}
			if line := FormatStats(c.Actions(), st); line != last {
				fmt.Fprintln(cfg.Status, line)
				last = line
			}
		}
	}()

	runErr := c.RunTo(ctx, sink)
	close(done)
	wg.Wait()
	// A reader that went away (`| tcpdump -c 3`, `| head`) ends the capture
	// normally.
	if errors.Is(runErr, syscall.EPIPE) {
		runErr = nil
	}
	st, serr := c.Stats()
	if pcapng != nil {
		if err := pcapng.Close(st); err != nil && runErr == nil && !errors.Is(err, syscall.EPIPE) {
			runErr = err
		}
	}
	if serr == nil {
		var written uint64
		for _, s := range st {
			written += s.Written
		}
		fmt.Fprintf(cfg.Status, "%d packets captured; %s\n", written, FormatStats(c.Actions(), st))
	}
	return runErr
}

// gone says why a capture can no longer deliver anything, or "": the lab was
// taken down (its hook pin is gone), or the reader of the stream went away
// (`| tcpdump -c 3` exited while no packet came to reveal it by EPIPE).
func gone(cfg Config) string {
	if cfg.Hook != "" {
		if _, err := os.Stat(cfg.Hook); errors.Is(err, os.ErrNotExist) {
			return fmt.Sprintf("the hook %s is gone (the lab was taken down): capture ends", cfg.Hook)
		}
	}
	if f, ok := cfg.Out.(*os.File); ok && cfg.Output == "-" {
		// A pipe whose reader closed reports POLLERR to its writer.
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: 0}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			return "the reader of the capture stream went away: capture ends"
		}
	}
	return ""
}

func actionList(actions []Action) string {
	s := ""
	for i, a := range actions {
		if i > 0 {
			s += ", "
		}
		s += a.Interface()
	}
	return s
}
