package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) downCmd() *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "remove a lab or playground (or, with no name or --all, everything of the instance): pins, programs, namespaces, state",
		ArgsUsage: "[<lab>|<playground>]",
		Flags:     withInstance(&cli.BoolFlag{Name: "all", Usage: "every lab of the instance"}),
		Before:    needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			if c.NArg() > 1 || (c.NArg() == 1 && c.Bool("all")) {
				return usageErr("down takes one lab, or --all")
			}
			name := c.Args().First()
			removed, err := r.Down(c.Context, name)
			if err != nil {
				return err
			}
			if len(removed) == 0 {
				fmt.Println(nothingRemoved(r, name))
				return nil
			}
			fmt.Printf("removed %s (instance %s)\n", strings.Join(removed, ", "), r.Instance)
			return nil
		}),
	}
}

// nothingRemoved says why down removed nothing: for a named lab, that it
// was not up, and which labs of the instance are.
func nothingRemoved(r *labs.Runner, name string) string {
	if name == "" {
		return fmt.Sprintf("nothing of instance %s was up", r.Instance)
	}
	up, _ := r.UpLabs()
	switch len(up) {
	case 0:
		return fmt.Sprintf("%s was not up in instance %s, nor was any other lab", name, r.Instance)
	case 1:
		return fmt.Sprintf("%s was not up in instance %s; %s is (%s takes it down)", name, r.Instance, up[0].Lab, r.Cmd("down "+up[0].Lab))
	}
	var names []string
	for _, u := range up {
		names = append(names, u.Lab)
	}
	return fmt.Sprintf("%s was not up in instance %s; these labs are: %s (%s takes them all down)", name, r.Instance, strings.Join(names, ", "), r.Cmd("down --all"))
}
