package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) watchCmd() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "live view of a lab's maps and events, in its tutorial's format (Ctrl-C stops)",
		ArgsUsage: "<lab>",
		Flags:     withInstance(),
		Before:    needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			name, err := a.oneLab(c)
			if err != nil {
				return err
			}
			lab, env, err := r.Open(name)
			if err != nil {
				return err
			}
			defer env.Topo.Close()
			return lab.Watch(c.Context, env, os.Stdout)
		}),
	}
}
