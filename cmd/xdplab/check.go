package main

import (
	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) checkCmd() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "drive traffic through a lab that is up and verify every expectation",
		ArgsUsage: "[<lab>]",
		Flags:     withInstance(append([]cli.Flag{stepFlag}, reportFlags()...)...),
		Before:    needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			if c.NArg() > 1 {
				return usageErr("check one lab, or all that are up with no argument")
			}
			if err := reportPathWritable(c); err != nil {
				return err
			}
			reports, err := r.CheckStep(c.Context, c.Args().First(), c.String("step"))
			if err != nil {
				return err
			}
			return writeReports(c, reports, false)
		}),
	}
}
