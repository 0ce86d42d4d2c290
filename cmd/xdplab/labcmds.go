package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

// labCommands mounts the commands labs contribute (basic_firewall's fw):
// each gets --instance (and --json where it takes it), the root check and
// the usage error for a wrong argument count that xdplab's own commands
// have.
func (a *app) labCommands() []*cli.Command {
	var cmds []*cli.Command
	for _, lc := range a.reg.Commands() {
		cmds = append(cmds, a.mount(lc, nil))
	}
	return cmds
}

// mount turns a lab command, at path below xdplab, into a cli.Command.
func (a *app) mount(lc labs.Command, path []string) *cli.Command {
	path = append(append([]string{}, path...), lc.Name)
	cmd := &cli.Command{Name: lc.Name, Usage: lc.Usage, ArgsUsage: lc.ArgsUsage}
	for _, sub := range lc.Sub {
		cmd.Subcommands = append(cmd.Subcommands, a.mount(sub, path))
	}
	if lc.Run == nil {
		return cmd
	}
	flags := []cli.Flag{}
	if lc.JSON {
		flags = append(flags, jsonFlag)
	}
	cmd.Flags = withInstance(flags...)
	cmd.Before = needRoot
	cmd.Action = a.act(func(c *cli.Context, r *labs.Runner) error {
		args := c.Args().Slice()
		if lc.Args >= 0 && len(args) != lc.Args {
			usage := "usage: xdplab " + strings.Join(path, " ")
			if lc.ArgsUsage != "" {
				usage += " " + lc.ArgsUsage
			}
			usage += labs.InstanceFlag(r.Instance)
			if lc.ArgsHelp != "" {
				usage += " (" + lc.ArgsHelp + ")"
			}
			return usageErr("%s", usage)
		}
		return lc.Run(c.Context, r, args, labs.Output{W: os.Stdout, JSON: c.Bool("json")})
	})
	return cmd
}
