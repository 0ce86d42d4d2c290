package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

func (a *app) stepsCmd() *cli.Command {
	return &cli.Command{
		Name:      "steps",
		Usage:     "list a lab's exercises: the base exercise and the steps that follow it",
		ArgsUsage: "<lab>",
		Flags:     withInstance(jsonFlag),
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			name, err := a.oneLab(c)
			if err != nil {
				return err
			}
			l, err := a.reg.Get(name)
			if err != nil {
				return err
			}
			info := l.Info()
			// Which step is up is a nicety: a state directory this user
			// cannot read leaves the column empty rather than failing.
			upStep, isUp := "", false
			if recs, err := r.UpLabs(); err == nil {
				for _, rec := range recs {
					if rec.Lab == name {
						upStep, isUp = rec.Step, true
					}
				}
			}
			type row struct {
				Step    string `json:"step"`
				Summary string `json:"summary"`
				Up      bool   `json:"up"`
			}
			steps := info.Steps
			if len(steps) == 0 {
				steps = []labs.Step{{Summary: info.Summary}}
			}
			rows := []row{}
			for _, s := range steps {
				rows = append(rows, row{s.Title(), s.Summary, isUp && s.Name == upStep})
			}
			if c.Bool("json") {
				return writeJSON(rows)
			}
			for _, rw := range rows {
				state := ""
				if rw.Up {
					state = "up"
				}
				fmt.Printf("%-12s %-3s %s\n", rw.Step, state, rw.Summary)
			}
			if len(info.Steps) == 0 {
				var with []string
				for _, l := range a.reg.All() {
					if len(l.Info().Steps) > 0 {
						with = append(with, l.Info().Name)
					}
				}
				fmt.Printf("\n%s has its base exercise only, with no workspace for `xdplab init` yet (labs with exercises: %s)\n", name, strings.Join(with, ", "))
				return nil
			}
			flag := labs.InstanceFlag(r.Instance)
			fmt.Printf("\nstart a step:\n  xdplab init %s --step STEP        # its workspace: the starter C, headers, Makefile, README\n", name)
			fmt.Printf("  sudo xdplab up %s --step STEP%s   # load the step's reference program, or yours with --obj\n", name, flag)
			fmt.Printf("  sudo xdplab check %s%s           # grades the step that is up\n", name, flag)
			return nil
		}),
	}
}
