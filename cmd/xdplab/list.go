package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

// stateUnknown is list's state of every lab when it runs without root.
const stateUnknown = "unknown"

func (a *app) listCmd() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the labs in course order, with their state",
		Flags: withInstance(jsonFlag, &cli.BoolFlag{Name: "instances", Usage: "every instance on the machine instead (needs root): as `status --all-instances`"}),
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			if c.Bool("instances") {
				if err := needRoot(c); err != nil {
					return err
				}
				return classView(c, r)
			}
			// Without root the state files and namespaces cannot be read:
			// every lab's state is unknown, never "down".
			canTell := os.Geteuid() == 0
			var conds []labs.Condition
			if canTell {
				var err error
				if conds, err = r.Conditions(); err != nil {
					return err
				}
			}
			state := map[string]labs.Condition{}
			for _, c := range conds {
				state[c.Lab] = c
			}
			type row struct {
				Number  int           `json:"number"`
				Lab     string        `json:"lab"`
				Summary string        `json:"summary"`
				State   string        `json:"state"`
				Problem *labs.Problem `json:"problem,omitempty"`
				// Playground marks a topology up with no lab (up --topology).
				Playground bool `json:"playground,omitempty"`
			}
			var rows []row
			damaged := false
			for _, l := range a.reg.All() {
				info := l.Info()
				c, ok := state[info.Name]
				if !canTell {
					c.State = stateUnknown
				} else if !ok {
					c.State = labs.CondDown
				}
				rows = append(rows, row{a.reg.Number(info.Name), info.Name, info.Summary, c.State, c.Problem, false})
				damaged = damaged || c.State == labs.CondDamaged
			}
			for _, c := range conds {
				if c.Playground {
					rows = append(rows, row{0, c.Lab, "playground: " + c.Summary, c.State, c.Problem, true})
					damaged = damaged || c.State == labs.CondDamaged
				}
			}
			if c.Bool("json") {
				if err := writeJSON(rows); err != nil {
					return err
				}
			} else {
				for _, rw := range rows {
					if rw.Playground {
						fmt.Printf("   %-16s %-7s %s\n", rw.Lab, rw.State, rw.Summary)
						continue
					}
					fmt.Printf("%d. %-16s %-7s %s\n", rw.Number, rw.Lab, rw.State, rw.Summary)
				}
				if !canTell {
					fmt.Printf("\n%s: without root xdplab cannot tell which labs are up; run `sudo %s`\n", stateUnknown, strings.Trim(r.Cmd("list"), "`"))
				}
				for _, rw := range rows {
					if rw.Problem != nil {
						fmt.Printf("\n%s: %s\n  fix: %s\n", rw.Lab, rw.Problem.What, rw.Problem.Fix)
					}
				}
			}
			if damaged {
				return labs.Errorf(labs.ErrEnvironment, "the state of some labs of instance %s is damaged (see above)", r.Instance)
			}
			return nil
		}),
	}
}
