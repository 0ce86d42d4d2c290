package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) statusCmd() *cli.Command {
	return &cli.Command{
		Name:   "status",
		Usage:  "namespaces, interfaces, attached programs and pinned maps of the labs that are up",
		Flags:  withInstance(jsonFlag),
		Before: needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
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
