package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) runCmd() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "up, check and down each lab in turn, with a summary (the grading and CI entry point)",
		ArgsUsage: "<lab>... | --all",
		Description: "With --all, --mode applies to the labs that have XDP programs; a lab without\n" +
			"(sockex1) runs as it always does, and its report says so.",
		Flags: withInstance(append(append([]cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "every lab, in course order"}, modeFlag, objFlag, srcFlag, stepFlag,
		}, reportFlags()...), a.labFlags()...)...),
		Before: needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			names := c.Args().Slice()
			if c.Bool("all") {
				if len(names) > 0 {
					return usageErr("give lab names or --all, not both")
				}
				names = a.reg.Names()
			}
			if len(names) == 0 {
				return usageErr("name the labs to run, or --all (labs: %s)", strings.Join(a.reg.Names(), ", "))
			}
			for _, n := range names {
				if _, err := a.reg.Get(n); err != nil {
					return err
				}
			}
			opts, err := a.reg.ParseOptions(names, c)
			if err != nil {
				return err
			}
			opts.ModeWhereSupported = c.Bool("all")
			if err := reportPathWritable(c); err != nil {
				return err
			}
			reports, err := r.Run(c.Context, names, opts)
			if err != nil {
				return err
			}
			return writeReports(c, reports, true)
		}),
	}
}
