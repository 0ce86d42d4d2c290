package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
)

func (a *app) upCmd() *cli.Command {
	return &cli.Command{
		Name:      "up",
		Usage:     "build a lab's topology and attach its programs; they stay attached after xdplab exits",
		ArgsUsage: "<lab> | --topology FILE",
		Flags: withInstance(append([]cli.Flag{modeFlag, objFlag, srcFlag, stepFlag,
			&cli.StringFlag{Name: "topology", Usage: "build a playground, the topology of `FILE` with no lab"},
			bareFlag,
		}, a.labFlags()...)...),
		Before: needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			if file := c.String("topology"); file != "" {
				return a.upPlayground(c, r, file)
			}
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
			opts.Bare = c.Bool("bare")
			if err := r.Up(c.Context, name, opts); err != nil {
				return err
			}
			return printUp(r, name)
		}),
	}
}

// bareFlag builds a lab's topology only, for the learner's own loader.
var bareFlag = &cli.BoolFlag{Name: "bare", Usage: "build the topology only: attach your own program inside a node (your loader with `xdplab exec`, or ip link ... xdp obj); check grades what runs there"}

// upPlayground builds the topology of a file with no lab in it.
func (a *app) upPlayground(c *cli.Context, r *labs.Runner, file string) error {
	if c.NArg() > 0 {
		return usageErr("--topology builds a playground, with no lab: give no lab name (got %s)", strings.Join(c.Args().Slice(), " "))
	}
	if c.IsSet("mode") || c.IsSet("obj") || c.IsSet("src") || c.IsSet("step") || c.IsSet("bare") {
		return usageErr("--mode, --obj, --src, --step and --bare say how a lab's program is loaded; a playground has none")
	}
	if _, err := a.reg.ParseOptions(nil, c); err != nil {
		return err
	}
	spec, err := topology.Load(file)
	if err != nil {
		return err
	}
	if err := r.UpPlayground(c.Context, spec); err != nil {
		return err
	}
	return r.WritePlaygroundUp(os.Stdout, spec.Name)
}

// printUp shows a lab that came up: its mode, its topology with the
// programs' attach points, and what to try next.
func printUp(r *labs.Runner, name string) error {
	lab, env, err := r.Open(name)
	if err != nil {
		return err
	}
	defer env.Topo.Close()
	up, err := r.UpLabs()
	if err != nil {
		return labs.Errorf(labs.ErrEnvironment, "%w", err)
	}
	labs.WriteUp(os.Stdout, lab.Info(), env, len(up) > 1)
	return nil
}
