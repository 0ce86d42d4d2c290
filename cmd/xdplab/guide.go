package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func (a *app) guideCmd() *cli.Command {
	return &cli.Command{
		Name:      "guide",
		Usage:     "print a lab's guide (labs/<lab>/guide.md)",
		ArgsUsage: "<lab>",
		Action: func(c *cli.Context) error {
			name, err := a.oneLab(c)
			if err != nil {
				return err
			}
			guide, err := a.reg.Guide(name)
			if err != nil {
				return err
			}
			fmt.Print(guide)
			return nil
		},
	}
}
