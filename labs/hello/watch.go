package hello

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xdplab/xdplab/internal/tracing"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// watchLines prints the trace lines that the lab's program prints, as the
// introduction's front end prints trace_pipe's: whole, one after the
// other. They come from a trace buffer of the watch's own, so that
// neither another reader of the machine's trace_pipe nor this watch takes
// lines from the other, and the lines of other learners' hello programs
// are left out (by the program each line's stack passes through).
func watchLines(ctx context.Context, env *labs.Env, w io.Writer) error {
	prog, err := grade.LinkedProgram(env, linkPin)
	if err != nil {
		return err
	}
	defer prog.Close()
	images, err := tracing.Images(prog)
	if err != nil {
		return labs.Errorf(labs.ErrEnvironment, "tell the lab's program's lines from others': %w", err)
	}
	buf, err := tracing.NewBuffer(tracing.Prefix(env.Instance, labName)+fmt.Sprintf("watch-%d", os.Getpid()),
		tracing.BufferOptions{Events: []string{printkEvent}, Stacks: true})
	if err != nil {
		return labs.Errorf(labs.ErrEnvironment, "%w", err)
	}
	defer buf.Close()
	if err := buf.Start(); err != nil {
		return labs.Errorf(labs.ErrEnvironment, "%w", err)
	}
	return buf.Follow(ctx, func(entries []tracing.Entry) error {
		for _, e := range entries {
			if e.Event == "bpf_trace_printk" && e.RanIn(images) {
				fmt.Fprintln(w, strings.Join(e.Lines, "\n"))
			}
		}
		return nil
	})
}
