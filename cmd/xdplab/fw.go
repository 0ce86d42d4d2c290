package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
	basicfirewall "github.com/xdplab/xdplab/labs/basic_firewall"
)

// fwCmd changes the rules of a running basic_firewall: the lab's own --drop
// flag only sets them at up.
func fwCmd(reg *labs.Registry) *cli.Command {
	oneCIDR := func(c *cli.Context) (string, error) {
		if c.NArg() != 1 {
			return "", usageErr("usage: xdplab fw %s CIDR%s (an IPv4 prefix such as 192.168.0.0/24, or an address)", c.Command.Name, labs.InstanceFlag(instance(c)))
		}
		return c.Args().First(), nil
	}
	return &cli.Command{
		Name:  "fw",
		Usage: "list, add or remove the rules of basic_firewall while it is up",
		Subcommands: []*cli.Command{
			{
				Name:   "list",
				Usage:  "the rules by index, with the packets each dropped",
				Flags:  withInstance(jsonFlag),
				Before: needRoot,
				Action: func(c *cli.Context) error {
					r, err := runner(c, reg)
					if err != nil {
						return err
					}
					rules, err := basicfirewall.List(c.Context, r)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON(rules)
					}
					if len(rules) == 0 {
						fmt.Printf("no rules: basic_firewall (instance %s) drops nothing; add one with %s\n", r.Instance, r.Cmd("fw add CIDR"))
						return nil
					}
					fmt.Printf("%-5s %-18s %s\n", "INDEX", "RULE", "MATCHES")
					for _, rule := range rules {
						fmt.Printf("%-5d %-18s %d\n", rule.Index, rule.Prefix, rule.Matches)
					}
					return nil
				},
			},
			{
				Name:      "add",
				Usage:     "drop IPv4 packets from CIDR; the rule gets the lowest free index",
				ArgsUsage: "CIDR",
				Flags:     withInstance(),
				Before:    needRoot,
				Action: func(c *cli.Context) error {
					cidr, err := oneCIDR(c)
					if err != nil {
						return err
					}
					r, err := runner(c, reg)
					if err != nil {
						return err
					}
					rule, err := basicfirewall.Add(c.Context, r, cidr)
					if err != nil {
						return err
					}
					fmt.Printf("added rule %d: drop %s (matches[%d] starts at 0)\n", rule.Index, rule.Prefix, rule.Index)
					return nil
				},
			},
			{
				Name:      "del",
				Usage:     "remove the rule for CIDR; its index is free again and its count reset",
				ArgsUsage: "CIDR",
				Flags:     withInstance(),
				Before:    needRoot,
				Action: func(c *cli.Context) error {
					cidr, err := oneCIDR(c)
					if err != nil {
						return err
					}
					r, err := runner(c, reg)
					if err != nil {
						return err
					}
					rule, err := basicfirewall.Del(c.Context, r, cidr)
					if err != nil {
						return err
					}
					fmt.Printf("removed rule %d: %s (it had dropped %d packets; index %d is free)\n", rule.Index, rule.Prefix, rule.Matches, rule.Index)
					return nil
				},
			},
		},
	}
}
