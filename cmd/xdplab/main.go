// Command xdplab builds network-namespace topologies and runs self-checking
// XDP/eBPF labs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
)

// Exit codes, as `check` and `run` document them, and the shell's for a
// command that exec cannot run.
const (
	exitPass          = 0
	exitFail          = 1
	exitUsage         = 2
	exitNotExecutable = 126
	exitNotFound      = 127
)

// exitError is an error that ends xdplab with its own code, the one the
// tool a user knows would give (exec's 127 for a missing command).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errChecksFailed is returned by check and run when an expectation failed; it
// maps to exit code 1, every other error to 2.
var errChecksFailed = errors.New("some expectations failed")

// errCouldNotCheck is returned by check and run when a lab could not be
// checked to the end (its report says why): exit 2, even when another lab
// failed an expectation, so that a grader never takes a check that did not
// run for a learner's failure.
var errCouldNotCheck = errors.New("some labs could not be checked")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp()
	args, err := reorder(app, os.Args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitPass
	case errors.Is(err, errChecksFailed):
		return exitFail
	case errors.Is(err, errCouldNotCheck):
		return exitUsage // the report printed the cause
	case errors.Is(err, context.Canceled):
		// Ctrl-C or SIGTERM: what the command had built was rolled back.
		fmt.Fprintln(os.Stderr, "xdplab: interrupted; what this command had started was undone")
		return exitUsage
	}
	fmt.Fprintf(os.Stderr, "xdplab: %v\n", err)
	var coded *exitError
	switch {
	case errors.As(err, &coded):
		return coded.code
	case errors.Is(err, traffic.ErrNoReply):
		return exitFail // as ping(8): no reply at all
	}
	switch {
	case errors.Is(err, labs.ErrUnknownLab):
		fmt.Fprintln(os.Stderr, "(`xdplab list` describes the labs)")
	case errors.Is(err, labs.ErrUsage):
		fmt.Fprintln(os.Stderr, "(`xdplab help <command>` shows a command's usage)")
	}
	return exitUsage
}
