package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/build"
	"github.com/xdplab/xdplab/labs/exercise"
)

func (a *app) initCmd() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "write a workspace for a lab's exercise: the starter C with TODOs, its headers, a Makefile and a README",
		ArgsUsage: "<lab> [DIR]",
		Description: "DIR defaults to ./<lab>, or ./<lab>-<step> with --step. Files already there are\n" +
			"never replaced without --force. init needs no root.",
		Flags: []cli.Flag{stepFlag,
			&cli.BoolFlag{Name: "solution", Usage: "write the solution instead of the starter"},
			&cli.BoolFlag{Name: "force", Usage: "replace files the workspace already has"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 || c.NArg() > 2 {
				return usageErr("init <lab> [DIR]: name a lab (%s) and, if you like, the directory to write", strings.Join(a.reg.Names(), ", "))
			}
			l, err := a.reg.Get(c.Args().Get(0))
			if err != nil {
				return err
			}
			info := l.Info()
			if len(info.Steps) == 0 {
				return usageErr("%s has no exercise workspace yet: `xdplab guide %s` shows how to load your own program with --obj", info.Name, info.Name)
			}
			step, err := info.Step(c.String("step"))
			if err != nil {
				return err
			}
			dir := c.Args().Get(1)
			if dir == "" {
				dir = exercise.DefaultDir(info.Name, step)
			}
			ws := exercise.Workspace{Info: info, Step: step, Solution: c.Bool("solution"), Headers: build.Headers()}
			files, err := ws.Files()
			if err != nil {
				return err
			}
			written, err := exercise.Write(dir, files, c.Bool("force"))
			if err != nil {
				return err
			}
			what := "the starter"
			if ws.Solution {
				what = "the solution"
			}
			fmt.Printf("wrote %d files to %s: %s of %s, step %s (README.md says what to do)\n", len(written), dir, what, info.Name, step.Title())
			cd := dir
			if strings.ContainsAny(cd, " '\"$") {
				cd = "'" + strings.ReplaceAll(cd, "'", `'\''`) + "'"
			}
			fmt.Printf("\nnext:\n  cd %s\n  make          # builds %s\n  make up       # loads it into the lab (sudo)\n  make check    # grades it (sudo)\n",
				cd, info.Name+".o")
			return nil
		},
	}
}
