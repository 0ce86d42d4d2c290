package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
)

func (a *app) topoCmd() *cli.Command {
	return &cli.Command{
		Name:      "topo",
		Usage:     "draw the topologies of labs, playgrounds or topology files (every lab with none) as one document",
		ArgsUsage: "[<lab>|<playground>|FILE...]",
		Flags:     withInstance(&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, dot or mermaid"}),
		Subcommands: []*cli.Command{{
			Name:      "validate",
			Usage:     "check a topology file; name every problem with its line",
			ArgsUsage: "FILE",
			Flags:     withInstance(),
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usageErr("usage: xdplab topo validate FILE")
				}
				file := c.Args().First()
				spec, err := topology.Load(file)
				if err != nil {
					return err
				}
				fmt.Printf("%s: ok (%s)\n", file, spec.Summary())
				return nil
			},
		}},
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			drawings, err := r.Drawings(c.Args().Slice())
			if err != nil {
				return err
			}
			if err := topology.Draw(os.Stdout, c.String("format"), drawings...); err != nil {
				return usageErr("--format: %v", err)
			}
			return nil
		}),
	}
}
