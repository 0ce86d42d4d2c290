package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
)

// example is a destination of each kind of traffic, for usage errors.
var example = map[string]string{"ping": "192.168.0.2", "tcp": "192.168.0.2:8888", "udp": "192.168.0.2:9"}

func (a *app) trafficCmd() *cli.Command {
	sub := func(kind, usage string) *cli.Command {
		return &cli.Command{
			Name:  kind,
			Usage: usage,
			Flags: withInstance(labFlag,
				&cli.StringFlag{Name: "from", Value: "host", Usage: "the `NODE` that sends"},
				&cli.StringFlag{Name: "to", Usage: "destination `ADDR` (ping) or ADDR:PORT (tcp, udp); required"},
				&cli.IntFlag{Name: "count", Aliases: []string{"c"}, Value: traffic.DefaultCount, Usage: "how many packets or connections (`N`, at least 1)"},
			),
			Before: needRoot,
			Action: a.act(func(c *cli.Context, r *labs.Runner) error {
				// Bad arguments are the answer even when nothing is up.
				if c.NArg() > 0 {
					return usageErr("traffic %s takes no arguments (got %s): give the destination with --to, as in %s", kind, strings.Join(c.Args().Slice(), " "), r.Cmd("traffic "+kind+" --to "+example[kind]))
				}
				if !c.IsSet("to") {
					return usageErr("traffic %s: say where to send with --to, as in %s", kind, r.Cmd("traffic "+kind+" --to "+example[kind]))
				}
				if err := traffic.CheckRequest(kind, c.String("to"), c.Int("count")); err != nil {
					return labs.Errorf(labs.ErrUsage, "traffic %s: %w", kind, err)
				}
				ns, err := r.Node(c.String("lab"), c.String("from"))
				if err != nil {
					return err
				}
				defer ns.Close()
				if err := traffic.Run(c.Context, ns, kind, c.String("to"), c.Int("count"), os.Stdout); err != nil {
					return fmt.Errorf("traffic %s: %w", kind, err)
				}
				return nil
			}),
		}
	}
	return &cli.Command{
		Name:  "traffic",
		Usage: "send pure-Go traffic from a node (no ping, nc or curl needed)",
		Subcommands: []*cli.Command{
			sub("ping", "ICMP echo requests with 56-byte payloads, replies counted"),
			sub("tcp", "TCP connections that send a line"),
			sub("udp", "UDP datagrams"),
		},
	}
}
