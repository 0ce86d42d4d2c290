package main

import (
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) statusCmd() *cli.Command {
	return &cli.Command{
		Name:   "status",
		Usage:  "namespaces, interfaces, attached programs and pinned maps of the labs that are up",
		Flags:  withInstance(jsonFlag, allInstancesFlag),
		Before: needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			if c.Bool(allInstancesFlag.Name) {
				return classView(c, r)
			}
			st, err := r.Status()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if err := writeJSON(st); err != nil {
					return err
				}
			} else {
				labs.WriteStatus(os.Stdout, st)
			}
			if st.Troubled() {
				return labs.Errorf(labs.ErrEnvironment, "status found problems in instance %s (see above)", r.Instance)
			}
			return nil
		}),
	}
}

// allInstancesFlag turns status into the class view; `list --instances`
// is the same view under the name an instructor may look for first.
var allInstancesFlag = &cli.BoolFlag{
	Name:  "all-instances",
	Usage: "every instance on the machine, one line per lab: step, owner, program and last check (the class view; --instance is ignored)",
}

// classView prints every instance's labs. The learners' damaged labs are
// shown, not failed on: the view is for reading.
func classView(c *cli.Context, r *labs.Runner) error {
	class, err := r.Class()
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(class)
	}
	labs.WriteClass(os.Stdout, class, time.Now())
	return nil
}
