package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/labs"
)

func (a *app) captureCmd() *cli.Command {
	return &cli.Command{
		Name:      "capture",
		Usage:     "capture packets with the action the lab's XDP program chose (tcpdump filters, pcapng; Ctrl-C stops)",
		ArgsUsage: "<lab|hook-pin-path> [FILTER...]",
		Description: "Captures at the xdpcap hook of a lab (or any pinned xdpcap hook): each packet goes under an\n" +
			"interface named for its action (XDPpass, XDPdrop, ...). FILTER is a tcpdump expression.\n\n" +
			"   sudo xdplab capture xdpcap -w - icmp | tcpdump -nr -\n" +
			"   sudo xdplab capture xdpcap -w drops.pcapng --actions drop\n" +
			"   sudo xdplab capture xdpcap --entry udp port 9      # before the program ran\n" +
			"   sudo xdplab capture xdpcap --clear-stale           # after a capture was killed (kill -9)",
		Flags: withInstance(
			&cli.StringFlag{Name: "w", Usage: "write pcapng to `FILE` (- streams to stdout: | tcpdump -r -); without -w, one line per packet"},
			&cli.StringFlag{Name: "actions", Usage: "capture only these actions, a `LIST` of aborted,drop,pass,tx,redirect (default: all; with --entry: none)"},
			&cli.BoolFlag{Name: "entry", Usage: "capture before the program ran, as an XDPentry interface (a front program on the lab's link)"},
			&cli.BoolFlag{Name: "clear-stale", Usage: "capture nothing: remove what killed captures left (their programs in hook slots, their front program on the lab's link, a next_prog pin nothing uses) and exit; running captures are left alone"},
		),
		Before: needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return usageErr("name a lab (%s) or the pin path of an xdpcap hook", strings.Join(a.reg.Names(), ", "))
			}
			target, expr := args[0], strings.Join(args[1:], " ")
			clearOnly := c.Bool("clear-stale")
			if clearOnly && (expr != "" || c.IsSet("w") || c.IsSet("actions") || c.Bool("entry")) {
				return usageErr("--clear-stale captures nothing: give it alone, with the lab or the hook pin path (drop -w, --actions, --entry and the filter)")
			}
			var opts capture.Options
			if strings.Contains(target, "/") {
				if c.Bool("entry") {
					return usageErr("--entry needs a lab name: it replaces the lab's program on its pinned link, which a bare hook path does not say")
				}
				opts.Hook = target
			} else {
				hook, entry, err := r.CapturePoints(target)
				if err != nil {
					return err
				}
				opts.Hook = hook
				if c.Bool("entry") || clearOnly {
					opts.Entry = &entry
				}
			}
			if clearOnly {
				return clearStale(opts)
			}
			if c.IsSet("actions") {
				actions, err := capture.ParseActions(c.String("actions"))
				if err != nil {
					return usageErr("--actions: %v", err)
				}
				opts.Actions = actions
			}
			opts.Filter = expr

			// A reader that goes away (`| tcpdump -c 3`) must end the capture
			// through its cleanup, not kill the process: with SIGPIPE
			// caught, the write fails with EPIPE instead.
			pipe := make(chan os.Signal, 1)
			signal.Notify(pipe, syscall.SIGPIPE)
			defer signal.Stop(pipe)

			return capture.Record(c.Context, capture.Config{
				Options: opts, Output: c.String("w"), Out: os.Stdout, Status: os.Stderr,
			})
		}),
	}
}

// clearStale removes a killed capture's leftovers at the hook (and the lab's
// link, for a lab) and says what it did.
func clearStale(opts capture.Options) error {
	n, err := capture.ClearStale(opts.Hook, opts.Entry, func(s string) { fmt.Println(s) })
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Printf("no leftovers of killed captures at %s\n", opts.Hook)
	}
	return nil
}
