package main

import (
	"os"
	"os/exec"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

// labFlag picks the lab whose node exec and traffic mean.
var labFlag = &cli.StringFlag{Name: "lab", Usage: "the `LAB` (or playground) whose node is meant, when several are up"}

func (a *app) execCmd() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command inside a node's namespace",
		ArgsUsage: "<node> -- CMD [ARGS...]",
		Flags:     withInstance(labFlag),
		Before:    needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			args := c.Args().Slice()
			if len(args) > 1 && args[1] == "--" {
				args = append(args[:1], args[2:]...)
			}
			if len(args) < 2 {
				return usageErr("usage: xdplab exec <node>%s -- CMD [ARGS...]", labs.InstanceFlag(r.Instance))
			}
			node, cmdArgs := args[0], args[1:]
			ns, err := r.Node(c.String("lab"), node)
			if err != nil {
				return err
			}
			defer ns.Close()
			path, err := exec.LookPath(cmdArgs[0])
			if err != nil {
				return labs.Errorf(labs.ErrUsage, "%w", err)
			}
			return ns.Exec(path, cmdArgs, os.Environ())
		}),
	}
}
