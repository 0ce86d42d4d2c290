package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/doctor"
	"github.com/xdplab/xdplab/labs"
)

func doctorCmd() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check this machine for what the labs need (and mount bpffs if it is missing)",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			items := doctor.Run(true)
			if c.Bool("json") {
				if err := writeJSON(items); err != nil {
					return err
				}
			} else {
				doctor.Write(os.Stdout, items)
			}
			if doctor.Failed(items) {
				return labs.Errorf(labs.ErrEnvironment, "some preflight items failed (see the fixes above)")
			}
			return nil
		},
	}
}
