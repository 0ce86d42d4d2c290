package basicfirewall

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/xdplab/xdplab/labs"
)

// The functions below are `xdplab fw`: they change the rules of the
// instance's running firewall under the instance lock, so they never race
// with a check that adds a rule of its own for a while.

// List returns the rules of the instance's basic_firewall by index, with
// their drop counts.
func List(ctx context.Context, r *labs.Runner) ([]Rule, error) {
	var rules []Rule
	err := r.WithLab(ctx, labName, func(_ labs.Lab, env *labs.Env) error {
		m, err := openLabMaps(env, true)
		if err != nil {
			return err
		}
		defer m.Close()
		rules, err = m.rules()
		return err
	})
	return rules, err
}

// Add installs a rule at the lowest free index, with its counter at 0.
func Add(ctx context.Context, r *labs.Runner, cidr string) (Rule, error) {
	return change(ctx, r, "add", cidr, (*fwMaps).add)
}

// Del removes a rule, frees its index and zeroes its counter; it returns the
// rule with the count it had.
func Del(ctx context.Context, r *labs.Runner, cidr string) (Rule, error) {
	return change(ctx, r, "del", cidr, (*fwMaps).del)
}

// change applies one rule change to the running lab's maps under the
// instance lock, so it never interleaves with up, check or down.
func change(ctx context.Context, r *labs.Runner, verb, cidr string, apply func(*fwMaps, netip.Prefix) (Rule, error)) (Rule, error) {
	// Either family parses here; whether the running firewall has a
	// blacklist for it is known once its maps are open.
	p, err := ParseRule(cidr, true)
	if err != nil {
		return Rule{}, labs.Errorf(labs.ErrUsage, "fw %s: %w", verb, err)
	}
	var rule Rule
	err = r.WithLab(ctx, labName, func(_ labs.Lab, env *labs.Env) error {
		m, err := openLabMaps(env, false)
		if err != nil {
			return err
		}
		defer m.Close()
		if m.trie(p) == nil {
			_, err := ParseRule(cidr, false)
			return labs.Errorf(labs.ErrUsage, "%w", err)
		}
		rule, err = apply(m, p)
		return err
	})
	if err != nil {
		return Rule{}, fmt.Errorf("fw %s %s: %w", verb, p, err)
	}
	return rule, nil
}
