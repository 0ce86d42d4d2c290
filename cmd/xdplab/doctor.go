package main

import (
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/doctor"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

func doctorCmd() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check this machine for what the labs need (and mount bpffs if it is missing)",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			items := doctor.Run(true)
			items = append(items, doctor.Tracing(true, tracingLabs(course.Registry()))...)
			if c.Bool("json") {
				if err := writeJSON(items); err != nil {
					return err
				}
			} else {
				doctor.Write(os.Stdout, items)
			}
			if doctor.Failed(items) {
				return labs.Errorf(labs.ErrEnvironment, "some preflight items failed (see the fixes above)")
			}
			return nil
		},
	}
}

// tracingLabs are the labs whose programs run on tracing hooks, as doctor
// checks them: their tracepoints and their kprobe variants' functions.
func tracingLabs(reg *labs.Registry) []doctor.TracingLab {
	var out []doctor.TracingLab
	for _, l := range reg.All() {
		info := l.Info()
		if !info.Tracing() {
			continue
		}
		t := doctor.TracingLab{Name: info.Name}
		for _, a := range info.Attach {
			switch a.Hook {
			case labs.HookTracepoint:
				t.Tracepoints = append(t.Tracepoints, a.Target)
			case labs.HookKprobe, labs.HookKretprobe:
				if !slices.Contains(t.Kprobes, a.Target) { // a kprobe and a kretprobe on one function
					t.Kprobes = append(t.Kprobes, a.Target)
				}
			}
		}
		out = append(out, t)
	}
	return out
}
