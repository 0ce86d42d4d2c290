package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"

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
				return commandError(cmdArgs[0], err)
			}
			if err := ns.Exec(path, cmdArgs, os.Environ()); err != nil {
				if errors.Is(err, syscall.ENOEXEC) || errors.Is(err, fs.ErrPermission) {
					// Found but not runnable: a shell's 126.
					return &exitError{exitNotExecutable, fmt.Errorf("%w: give a program built for this machine, or run a script through its interpreter (sh FILE)", err)}
				}
				return err
			}
			return nil
		}),
	}
}

// commandError is exec's error for a command it cannot run, with the exit
// code a shell gives: 127 for one that is not there, 126 for one that is
// there but cannot be run.
func commandError(name string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return &exitError{exitNotExecutable, fmt.Errorf("exec %s: it is not executable (%w): chmod +x it, or run it through its interpreter", name, err)}
	}
	where := "in $PATH"
	if strings.Contains(name, "/") {
		where = "at that path"
	}
	return &exitError{exitNotFound, fmt.Errorf("exec %s: command not found %s (%w): a node runs this machine's programs, so install it here or give its path", name, where, err)}
}
