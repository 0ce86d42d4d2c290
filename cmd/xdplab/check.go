package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) checkCmd() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "drive traffic through a lab that is up and verify every expectation",
		ArgsUsage: "[<lab>]",
		Flags:     withInstance(append([]cli.Flag{stepFlag, watchFlag}, reportFlags()...)...),
		Before:    needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			if c.NArg() > 1 {
				return usageErr("check one lab, or all that are up with no argument")
			}
			if c.Bool("watch") {
				return a.checkWatch(c, r)
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

var watchFlag = &cli.BoolFlag{Name: "watch", Usage: "check a lab up with --src or --obj, then rebuild, reload and check it again each time you save; Ctrl-C stops and leaves the lab up"}

// checkWatch is `check <lab> --watch`. Its exit code is the verdict on the
// program the lab runs when it stops: 0 passed, 1 failed, 2 not checked
// (the last build or load failed).
func (a *app) checkWatch(c *cli.Context, r *labs.Runner) error {
	if c.NArg() != 1 {
		return usageErr("--watch checks one lab: name it, as in %s", r.Cmd("check <lab> --watch"))
	}
	if c.Bool("json") || c.String("junit") != "" {
		return usageErr("--watch prints a short summary after each change; --json and --junit write the report of one check: run %s for them", r.Cmd("check "+c.Args().First()+" --json"))
	}
	verdict, err := r.CheckWatch(c.Context, c.Args().First(), c.String("step"), os.Stdout)
	if err != nil {
		return err
	}
	switch verdict {
	case labs.VerdictPass:
		return nil
	case labs.VerdictFail:
		return errChecksFailed
	}
	return errCouldNotCheck
}
