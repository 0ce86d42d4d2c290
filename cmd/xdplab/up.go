package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) upCmd() *cli.Command {
	return &cli.Command{
		Name:      "up",
		Usage:     "build a lab's topology and attach its programs; they stay attached after xdplab exits",
		ArgsUsage: "<lab>",
		Flags:     withInstance(append([]cli.Flag{modeFlag, objFlag}, a.labFlags()...)...),
		Before:    needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			name, err := a.oneLab(c)
			if err != nil {
				return err
			}
			if _, err := a.reg.Get(name); err != nil {
				return err
			}
			opts, err := a.reg.ParseOptions([]string{name}, c)
			if err != nil {
				return err
			}
			if err := r.Up(c.Context, name, opts); err != nil {
				return err
			}
			return printUp(r, name)
		}),
	}
}

// printUp shows a lab that came up: its mode, its topology with the
// programs' attach points, and what to try next.
func printUp(r *labs.Runner, name string) error {
	lab, env, err := r.Open(name)
	if err != nil {
		return err
	}
	defer env.Topo.Close()
	labs.WriteUp(os.Stdout, lab.Info(), env)
	return nil
}
