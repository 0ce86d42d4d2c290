package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func (a *app) guideCmd() *cli.Command {
	return &cli.Command{
		Name:      "guide",
		Usage:     "print a lab's guide (labs/<lab>/guide.md), its commands spelled for your instance",
		ArgsUsage: "<lab>",
		Flags:     withInstance(),
		Action: func(c *cli.Context) error {
			name, err := a.oneLab(c)
			if err != nil {
				return err
			}
			// The instance is only spelled into the text; an invalid name is
			// refused as every command refuses it.
			r, err := a.runner(c)
			if err != nil {
				return err
			}
			guide, err := a.reg.Guide(name, r.Instance)
			if err != nil {
				return err
			}
			fmt.Print(guide)
			return nil
		},
	}
}
