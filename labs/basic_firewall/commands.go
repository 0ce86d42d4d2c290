package basicfirewall

import (
	"context"
	"fmt"

	"github.com/xdplab/xdplab/labs"
)

// Commands are `xdplab fw list|add|del`: they change the rules of a running
// basic_firewall, whose --drop flag only sets them at up.
func (*Lab) Commands() []labs.Command {
	const cidrHelp = "an IPv4 prefix such as 10.0.0.0/8, or an address (IPv6 ones too in the ipv6 step)"
	return []labs.Command{{
		Name:  "fw",
		Usage: "list, add or remove the rules of basic_firewall while it is up",
		Sub: []labs.Command{
			{
				Name:  "list",
				Usage: "the rules by index, with the packets each dropped",
				JSON:  true,
				Run:   listRules,
			},
			{
				Name:      "add",
				Usage:     "drop IPv4 packets from CIDR; the rule gets the lowest free index",
				ArgsUsage: "CIDR", ArgsHelp: cidrHelp, Args: 1,
				Run: func(ctx context.Context, r *labs.Runner, args []string, out labs.Output) error {
					rule, err := Add(ctx, r, args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(out.W, "added rule %d: drop %s (matches[%d] starts at 0)\n", rule.Index, rule.Prefix, rule.Index)
					return nil
				},
			},
			{
				Name:      "del",
				Usage:     "remove the rule for CIDR; its index is free again and its count reset",
				ArgsUsage: "CIDR", ArgsHelp: cidrHelp, Args: 1,
				Run: func(ctx context.Context, r *labs.Runner, args []string, out labs.Output) error {
					rule, err := Del(ctx, r, args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(out.W, "removed rule %d: %s (it had dropped %d packets; index %d is free)\n", rule.Index, rule.Prefix, rule.Matches, rule.Index)
					return nil
				},
			},
		},
	}}
}

// listRules is `xdplab fw list`: a table, or the rules as JSON.
func listRules(ctx context.Context, r *labs.Runner, _ []string, out labs.Output) error {
	rules, err := List(ctx, r)
	if err != nil {
		return err
	}
	if out.JSON {
		return out.Encode(rules)
	}
	if len(rules) == 0 {
		fmt.Fprintf(out.W, "no rules: basic_firewall (instance %s) drops nothing; add one with %s\n", r.Instance, r.Cmd("fw add CIDR"))
		return nil
	}
	// The RULE column is as wide as an IPv4 prefix can be, or as the
	// longest IPv6 one.
	width := 18
	for _, rule := range rules {
		width = max(width, len(rule.Prefix.String())+1)
	}
	header := fmt.Sprintf("%-5s %-*s %s", "INDEX", width, "RULE", "MATCHES")
	if rules[0].Bytes != nil {
		header += "  BYTES"
	}
	fmt.Fprintln(out.W, header)
	for _, rule := range rules {
		line := fmt.Sprintf("%-5d %-*s %d", rule.Index, width, rule.Prefix, rule.Matches)
		if rule.Bytes != nil {
			line = fmt.Sprintf("%-5d %-*s %-7d  %d", rule.Index, width, rule.Prefix, rule.Matches, *rule.Bytes)
		}
		fmt.Fprintln(out.W, line)
	}
	return nil
}
