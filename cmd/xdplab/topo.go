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
		Usage:     "draw a lab's topology",
		ArgsUsage: "[<lab>]",
		Flags:     withInstance(&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, dot or mermaid"}),
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			names := c.Args().Slice()
			if len(names) == 0 {
				names = a.reg.Names()
			}
			for i, n := range names {
				lab, err := a.reg.Get(n)
				if err != nil {
					return err
				}
				info := lab.Info()
				res, err := topology.Resolve(info.Topology, r.Instance, n)
				if err != nil {
					return err
				}
				if i > 0 {
					fmt.Println()
				}
				notes := info.Annotations()
				switch c.String("format") {
				case "text":
					fmt.Printf("# %s\n", n)
					res.WriteText(os.Stdout, notes)
				case "dot":
					res.WriteDot(os.Stdout, notes)
				case "mermaid":
					res.WriteMermaid(os.Stdout, notes)
				default:
					return usageErr("--format %q: want text, dot or mermaid", c.String("format"))
				}
			}
			return nil
		}),
	}
}
