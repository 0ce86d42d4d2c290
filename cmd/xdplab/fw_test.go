package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// TestLabOptionsDrop: --drop reaches basic_firewall's options, repeated, and
// is a usage error for any other lab. It runs the same flag parsing as `up`
// without needing root.
func TestLabOptionsDrop(t *testing.T) {
	a := &app{reg: course.Registry()}
	parse := func(args ...string) (labs.Options, error) {
		var opts labs.Options
		var err error
		app := &cli.App{
			Name: "xdplab", ExitErrHandler: func(*cli.Context, error) {},
			Commands: []*cli.Command{{
				Name:  "up",
				Flags: append([]cli.Flag{modeFlag, objFlag}, a.labFlags()...),
				Action: func(c *cli.Context) error {
					opts, err = a.reg.ParseOptions([]string{c.Args().First()}, c)
					return nil
				},
			}},
		}
		line, rerr := interspersed(append([]string{"xdplab", "up"}, args...))
		if rerr == nil {
			rerr = app.Run(line)
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		return opts, err
	}

	opts, err := parse("basic_firewall", "--drop", "192.168.0.0/24", "--drop", "10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := opts.Values["drop"], []string{"192.168.0.0/24", "10.0.0.0/8"}; !reflect.DeepEqual(got, want) {
		t.Errorf("drop values = %q, want %q", got, want)
	}
	_, err = parse("packet_counter", "--drop", "1.2.3.0/24")
	if !errors.Is(err, labs.ErrUsage) || !strings.Contains(err.Error(), "--drop is a flag of lab basic_firewall") {
		t.Errorf("--drop for packet_counter: %v, want a usage error naming basic_firewall", err)
	}
}

// TestBasicFirewallAcceptance walks issue 3's acceptance list for
// basic_firewall, with the system's ping as a witness.
func TestBasicFirewallAcceptance(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "ping")
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })

	// Bad input is refused before anything exists.
	wantError(t, xdplab(t, inst, "up", "packet_counter", "--drop", "1.2.3.0/24"), "--drop is a flag of lab basic_firewall")
	wantError(t, xdplab(t, inst, "up", "basic_firewall", "--drop", "10.0.0.300/8"), `bad CIDR "10.0.0.300/8"`)
	wantError(t, xdplab(t, inst, "up", "basic_firewall", "--drop", "2001:db8::/32"), "is not IPv4")
	wantError(t, xdplab(t, inst, "fw", "add", "10.0.0.0/8"), "basic_firewall is not up in instance "+inst)
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Fatalf("bad input left %v", left)
	}

	up := mustSucceed(t, xdplab(t, inst, "up", "basic_firewall", "--drop", "192.168.0.0/24"))
	if !strings.Contains(up.stdout, "xdplab fw list --instance "+inst) {
		t.Errorf("up does not suggest xdplab fw:\n%s", up.stdout)
	}
	host := inst + "-basic_firewall-host"
	out, _ := exec.Command("ip", "netns", "exec", host, "ping", "-c", "3", "-i", "0.2", "-W", "1", "192.168.0.2").CombinedOutput()
	if !strings.Contains(string(out), "3 packets transmitted, 0 received") {
		t.Errorf("system ping from the blocked host:\n%s", out)
	}
	list := mustSucceed(t, xdplab(t, inst, "fw", "list"))
	if !strings.Contains(list.stdout, "0     192.168.0.0/24     3") {
		t.Errorf("fw list does not count the 3 dropped pings:\n%s", list.stdout)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	watch := exec.CommandContext(ctx, bin, "watch", "basic_firewall", "--instance", inst)
	watch.Cancel = func() error { return watch.Process.Signal(os.Interrupt) }
	wout, _ := watch.Output()
	if !strings.Contains(string(wout), "    192.168.0.0/24\t3\n") {
		t.Errorf("watch output lacks the tutorial's %%18s\\t%%d line:\n%q", wout)
	}

	chk := mustSucceed(t, xdplab(t, inst, "check"))
	for _, want := range []string{
		"3 pings 198.18.0.1 -> 192.168.0.2 are answered (the check's own source; no rule of 192.168.0.0/24 matches it): expected 3 replies, observed 3 replies",
		"3 pings 198.18.0.1 -> 192.168.0.2 get no reply (the check's rule 198.18.0.1/32 at index 15): expected 0 replies, observed 0 replies",
		"matches[15] (the check's rule 198.18.0.1/32) counts the 3 echo requests and 5 datagrams from 198.18.0.1: expected 8, observed 8",
		"3 pings 198.18.0.3 -> 192.168.0.2 get no reply (the check's rule 198.18.0.0/29 at index 0, shared for now with your rule 192.168.0.0/24; 198.18.0.1/32 does not contain 198.18.0.3)",
		"13/13"} {
		if !strings.Contains(chk.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, chk.stdout)
		}
	}

	add := mustSucceed(t, xdplab(t, inst, "fw", "add", "10.0.0.0/8"))
	if !strings.Contains(add.stdout, "added rule 1: drop 10.0.0.0/8") {
		t.Errorf("fw add: %s", add.stdout)
	}
	del := mustSucceed(t, xdplab(t, inst, "fw", "del", "192.168.0.0/24"))
	// The check's pings came from its own source: the learner's counter
	// holds only the 3 system pings.
	if !strings.Contains(del.stdout, "removed rule 0: 192.168.0.0/24 (it had dropped 3 packets") {
		t.Errorf("fw del: %s", del.stdout)
	}
	out, _ = exec.Command("ip", "netns", "exec", host, "ping", "-c", "1", "-W", "1", "192.168.0.2").CombinedOutput()
	if !strings.Contains(string(out), "1 received") {
		t.Errorf("system ping after fw del:\n%s", out)
	}
	wantError(t, xdplab(t, inst, "fw", "del", "192.168.0.0/24"), "not in the blacklist (rules: 10.0.0.0/8)")
	chk = mustSucceed(t, xdplab(t, inst, "check", "basic_firewall"))
	if !strings.Contains(chk.stdout, "no rule of 10.0.0.0/8 matches it") {
		t.Errorf("check with a rule that does not match:\n%s", chk.stdout)
	}
	if list := mustSucceed(t, xdplab(t, inst, "fw", "list", "--json")); !strings.Contains(list.stdout, `"prefix": "10.0.0.0/8"`) ||
		strings.Contains(list.stdout, "198.18.") {
		t.Errorf("check did not leave the rules as it found them:\n%s", list.stdout)
	}
	if addrs := run(t, "ip", "-n", host, "-4", "-br", "addr"); strings.Contains(addrs, "198.18.") {
		t.Errorf("check left its address on the host:\n%s", addrs)
	}

	mustSucceed(t, xdplab(t, inst, "down"))
	wantError(t, xdplab(t, inst, "fw", "list"), "basic_firewall is not up")
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("down left %v", left)
	}

	run := mustSucceed(t, xdplab(t, inst, "run", "basic_firewall", "--mode", "native", "--drop", "192.168.0.0/24"))
	if !strings.Contains(run.stdout, "basic_firewall   native   PASS") {
		t.Errorf("run --mode native:\n%s", run.stdout)
	}
}

// TestFirewallCheckFullBlacklist: with all 16 slots taken the check cannot
// add its own rules; it prints the cause and the command that frees slots,
// and the rules stay as they were.
func TestFirewallCheckFullBlacklist(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	args := []string{"up", "basic_firewall", "--drop", "192.168.0.0/24"}
	for i := range 15 {
		args = append(args, "--drop", fmt.Sprintf("10.%d.0.0/16", i))
	}
	mustSucceed(t, xdplab(t, inst, args...))
	before := mustSucceed(t, xdplab(t, inst, "fw", "list", "--json")).stdout
	chk := xdplab(t, inst, "check", "basic_firewall")
	want := "blacklist is full for them (16 rules, 0 free slots): remove 3 rules with `xdplab fw del CIDR --instance " + inst + "` and check again"
	if chk.code != 2 || !strings.Contains(chk.stdout+chk.stderr, want) || !strings.Contains(chk.stdout, "ERROR: could not check") {
		t.Errorf("check with a full blacklist, want exit 2 (could not check) saying %q:\n%s", want, chk)
	}
	if after := mustSucceed(t, xdplab(t, inst, "fw", "list", "--json")).stdout; after != before {
		t.Errorf("rules changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestFirewallSteps: the bytes step's fw list shows what the drops
// weighed, with the system's ping as a witness; the ipv6 step takes IPv6
// rules from --drop and fw add, lists them by index beside the IPv4 ones,
// and its check passes and leaves them alone.
func TestFirewallSteps(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "ping")
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })

	mustSucceed(t, xdplab(t, inst, "up", "basic_firewall", "--step", "bytes", "--drop", "192.168.0.0/24"))
	out, _ := exec.Command("ip", "netns", "exec", inst+"-basic_firewall-host", "ping", "-c", "3", "-i", "0.2", "-W", "1", "192.168.0.2").CombinedOutput()
	if !strings.Contains(string(out), "3 packets transmitted, 0 received") {
		t.Errorf("system ping from the blocked host:\n%s", out)
	}
	// 3 frames of 98 bytes: 14 Ethernet, 20 IPv4, 8 ICMP, 56 of data.
	if list := mustSucceed(t, xdplab(t, inst, "fw", "list")); !strings.Contains(list.stdout, "0     192.168.0.0/24     3        294") ||
		!strings.Contains(list.stdout, "BYTES") {
		t.Errorf("fw list of the bytes step:\n%s", list.stdout)
	}
	if list := mustSucceed(t, xdplab(t, inst, "fw", "list", "--json")); !strings.Contains(list.stdout, `"bytes": 294`) {
		t.Errorf("fw list --json of the bytes step:\n%s", list.stdout)
	}
	wantError(t, xdplab(t, inst, "fw", "add", "2001:db8::/32"), "is not IPv4")
	mustSucceed(t, xdplab(t, inst, "down"))

	wantError(t, xdplab(t, inst, "up", "basic_firewall", "--step", "ipv6", "--drop", "::ffff:10.0.0.0/104"), "IPv4-mapped")
	mustSucceed(t, xdplab(t, inst, "up", "basic_firewall", "--step", "ipv6", "--drop", "192.168.0.0/24", "--drop", "2001:db8:1::/48"))
	if add := mustSucceed(t, xdplab(t, inst, "fw", "add", "fd00::/8")); !strings.Contains(add.stdout, "added rule 2: drop fd00::/8") {
		t.Errorf("fw add of an IPv6 prefix: %s", add.stdout)
	}
	before := mustSucceed(t, xdplab(t, inst, "fw", "list")).stdout
	for _, want := range []string{"1     2001:db8:1::/48    0", "2     fd00::/8           0"} {
		if !strings.Contains(before, want) {
			t.Errorf("fw list lacks %q:\n%s", want, before)
		}
	}
	chk := mustSucceed(t, xdplab(t, inst, "check", "basic_firewall"))
	if !strings.Contains(chk.stdout, "PASS: 18/18") || !strings.Contains(chk.stdout, "do not arrive (the check's rule 2001:db8:c612:1::1/128") {
		t.Errorf("check of the ipv6 step:\n%s", chk.stdout)
	}
	if after := mustSucceed(t, xdplab(t, inst, "fw", "list")).stdout; after != before {
		t.Errorf("check changed the rules:\nbefore %s\nafter  %s", before, after)
	}
	if del := mustSucceed(t, xdplab(t, inst, "fw", "del", "2001:db8:1::/48")); !strings.Contains(del.stdout, "removed rule 1: 2001:db8:1::/48") {
		t.Errorf("fw del of an IPv6 prefix: %s", del.stdout)
	}
}
