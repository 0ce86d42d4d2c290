package basicfirewall_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	basicfirewall "github.com/xdplab/xdplab/labs/basic_firewall"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/topology"
)

func drop(cidrs ...string) map[string][]string {
	return map[string][]string{"drop": cidrs}
}

// TestRun goes through the same path as `xdplab run basic_firewall`, with the
// host blocked by a rule, with only rules that do not match it, with none,
// and with rules over the check's first choice of source address.
func TestRun(t *testing.T) {
	cases := []struct {
		name string
		mode labs.Mode
		drop []string
	}{
		{"generic/host blocked", labs.ModeGeneric, []string{"192.168.0.0/24", "10.0.0.0/8"}},
		{"generic/host and its /32 blocked", labs.ModeGeneric, []string{"192.168.0.0/24", "192.168.0.3"}},
		{"generic/other rules", labs.ModeGeneric, []string{"10.0.0.0/8"}},
		{"generic/host's /32 blocked", labs.ModeGeneric, []string{"192.168.0.3"}},
		{"generic/the check's first source range blocked", labs.ModeGeneric, []string{"198.18.0.0/15", "100.64.0.0/10", "198.18.0.1"}},
		{"generic/no rules", labs.ModeGeneric, nil},
		{"native/host blocked", labs.ModeNative, []string{"192.168.0.0/24"}},
		{"native/no rules", labs.ModeNative, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
			reports, err := r.Run(context.Background(), []string{"basic_firewall"},
				labs.Options{Mode: c.mode, Values: drop(c.drop...)})
			if err != nil {
				t.Fatal(err)
			}
			testutils.RequirePass(t, reports)
			// The check sees the rules given to run, and sends from an
			// address none of them matches.
			var names []string
			for _, res := range reports[0].Results {
				names = append(names, res.Name)
			}
			all := strings.Join(names, "\n")
			for _, d := range c.drop {
				p, _ := basicfirewall.ParseRule(d, false)
				if !strings.Contains(all, p.String()) {
					t.Errorf("check does not name the --drop rule %s:\n%s", p, all)
				}
			}
			if !strings.Contains(all, "at index 15") {
				t.Errorf("check did not put its rule at the highest free index:\n%s", all)
			}
		})
	}
}

// TestSteps: every step's own program passes its check, in both modes,
// with and without rules of the learner's.
func TestSteps(t *testing.T) {
	for _, c := range []struct {
		step string
		drop []string
	}{
		{"bytes", nil},
		{"bytes", []string{"192.168.0.0/24"}},
		{"ipv6", nil},
		{"ipv6", []string{"192.168.0.0/24", "2001:db8::/32", "fd00::3"}},
	} {
		for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
			t.Run(fmt.Sprintf("%s/%d rules/%s", c.step, len(c.drop), mode), func(t *testing.T) {
				labtest.Passes(t, "basic_firewall", labs.Options{Mode: mode, Step: c.step, Values: drop(c.drop...)})
			})
		}
	}
}

// TestExercises: for the base exercise and each step, the starter that
// init writes compiles, loads and fails check with hints naming its TODOs;
// the solution passes; in both modes.
func TestExercises(t *testing.T) {
	labtest.ExercisesGraded(t, "basic_firewall")
}

// TestBadInput: every bad --drop or --obj is refused before anything exists.
func TestBadInput(t *testing.T) {
	var many []string
	for i := range 17 {
		many = append(many, fmt.Sprintf("10.%d.0.0/16", i))
	}
	cases := []struct {
		name string
		opts labs.Options
		want string
	}{
		{"bad octet", labs.Options{Values: drop("10.0.0.300/8")}, `--drop: bad CIDR "10.0.0.300/8"`},
		{"not a CIDR", labs.Options{Values: drop("abc")}, `--drop: bad CIDR "abc"`},
		{"prefix too long", labs.Options{Values: drop("10.0.0.0/33")}, `bad CIDR "10.0.0.0/33"`},
		{"ipv6", labs.Options{Values: drop("2001:db8::/32")}, `CIDR "2001:db8::/32" is not IPv4`},
		{"ipv6 address", labs.Options{Values: drop("fd00::3")}, `CIDR "fd00::3" is not IPv4`},
		{"too many rules", labs.Options{Values: drop(many...)}, "17 --drop rules, but the matches map holds counters for at most 16"},
		{"ipv6 outside the ipv6 step", labs.Options{Step: "bytes", Values: drop("2001:db8::/32")}, `CIDR "2001:db8::/32" is not IPv4`},
		{"ipv4-mapped in the ipv6 step", labs.Options{Step: "ipv6", Values: drop("::ffff:10.0.0.0/104")}, "is an IPv4-mapped IPv6 prefix"},
		{"too many rules of both families", labs.Options{Step: "ipv6", Values: drop(append(many[:10:10], "2001:db8:1::/48", "2001:db8:2::/48",
			"2001:db8:3::/48", "2001:db8:4::/48", "2001:db8:5::/48", "2001:db8:6::/48", "2001:db8:7::/48")...)},
			"17 --drop rules, but the matches map holds counters for at most 16"},
		{"no such step", labs.Options{Step: "ipv7"}, `basic_firewall has no step "ipv7"`},
		{"obj of another step", labs.Options{Step: "ipv6", Obj: "bpf_bytes_bpfel.o"}, `no map named "blacklist6"`},
		{"obj with counters of the wrong size", labs.Options{Step: "bytes", Obj: "bpf_bpfel.o"}, "matches"},
		{"same rule twice", labs.Options{Values: drop("10.0.0.0/8", "10.1.2.3/8")}, "same rule 10.0.0.0/8"},
		{"obj of another lab", labs.Options{Obj: "../packet_counter/bpf_bpfel.o"}, `no program named "firewall" (have: packet_count)`},
		{"obj not ELF", labs.Options{Obj: "lab.go"}, "is not an ELF file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Validate is what refuses it, so it needs no root.
			err := basicfirewall.New().Validate(c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, c.want)
			}
			if !strings.HasPrefix(c.name, "obj") && !errors.Is(err, labs.ErrUsage) {
				t.Errorf("error is not a usage error: %v", err)
			}
			testutils.RequirePrivileged(t)
			inst := testutils.Instance(t) // fails the test if anything is left
			r := &labs.Runner{Registry: course.Registry(), Instance: inst}
			err = r.Up(context.Background(), "basic_firewall", c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Up = %v, want an error containing %q", err, c.want)
			}
			if namespace.Exists(topology.NamespaceName(inst, "basic_firewall", "node1")) {
				t.Error("node1's namespace was created")
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":     "10.0.0.0/8",
		"192.168.0.7/24": "192.168.0.0/24", // host bits cleared, as net.ParseCIDR does in the tutorial
		"192.168.0.3":    "192.168.0.3/32", // a bare address is a /32, as in the tutorial
		" 0.0.0.0/0 ":    "0.0.0.0/0",
	} {
		got, err := basicfirewall.ParseRule(in, false)
		if err != nil || got.String() != want {
			t.Errorf("ParseRule(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "10.0.0.300/8", "10.0.0.0/33", "::ffff:10.0.0.1", "2001:db8::/32", "10.0.0.0/8/8"} {
		if p, err := basicfirewall.ParseRule(in, false); err == nil {
			t.Errorf("ParseRule(%q) = %v, want an error", in, p)
		}
	}
	// With an IPv6 blacklist (the ipv6 step).
	for in, want := range map[string]string{
		"2001:db8::/32":     "2001:db8::/32",
		"2001:db8::7/64":    "2001:db8::/64",
		"fd00::3":           "fd00::3/128",
		"10.0.0.0/8":        "10.0.0.0/8",
		" 2001:db8::/32   ": "2001:db8::/32",
	} {
		got, err := basicfirewall.ParseRule(in, true)
		if err != nil || got.String() != want {
			t.Errorf("ParseRule(%q, true) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"::ffff:10.0.0.1", "::ffff:10.0.0.0/104", "fe80::1%eth0", "2001:db8::/129", "2001:db8::/32/3"} {
		if p, err := basicfirewall.ParseRule(in, true); err == nil {
			t.Errorf("ParseRule(%q, true) = %v, want an error", in, p)
		}
	}
}

func TestFormat(t *testing.T) {
	got := basicfirewall.Format([]basicfirewall.Rule{
		{Index: 0, Prefix: netip.MustParsePrefix("192.168.0.0/24"), Matches: 5},
		{Index: 1, Prefix: netip.MustParsePrefix("10.0.0.0/8"), Matches: 0},
	}, "xdplab")
	// The tutorial prints fmt.Printf("%18s\t%d\n", rule, count) per rule, then a blank line.
	want := "    192.168.0.0/24\t5\n        10.0.0.0/8\t0\n\n"
	if got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	bytes := uint64(664)
	got = basicfirewall.Format([]basicfirewall.Rule{
		{Index: 0, Prefix: netip.MustParsePrefix("2001:db8::/32"), Matches: 8, Bytes: &bytes},
	}, "xdplab")
	if want := "     2001:db8::/32\t8\t664 bytes\n\n"; got != want {
		t.Errorf("Format with bytes = %q, want %q", got, want)
	}
	if got := basicfirewall.Format(nil, "xdplab"); !strings.Contains(got, "`xdplab fw add CIDR`") {
		t.Errorf("an empty blacklist does not say how to add a rule: %q", got)
	}
	// On another instance, the hint acts on that instance when pasted.
	if got := basicfirewall.Format(nil, "class1"); !strings.Contains(got, "`xdplab fw add CIDR --instance class1`") {
		t.Errorf("the hint for an empty blacklist lacks the instance: %q", got)
	}
	if !strings.Contains(basicfirewall.New().Info().Guide, "xdplab fw add") {
		t.Error("guide is not embedded or does not document xdplab fw")
	}
}

// TestFw changes rules while the lab is up, as `xdplab fw` does, and checks
// that traffic follows, indices stay put and check leaves the rules alone.
func TestFw(t *testing.T) {
	testutils.RequirePrivileged(t)
	ctx := context.Background()
	inst := testutils.Instance(t)
	r := &labs.Runner{Registry: course.Registry(), Instance: inst}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if err := r.Up(ctx, "basic_firewall", labs.Options{Values: drop("10.0.0.0/8", "172.16.0.0/12")}); err != nil {
		t.Fatal(err)
	}
	host, err := namespace.Open(topology.NamespaceName(inst, "basic_firewall", "host"))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	answered := func() int {
		t.Helper()
		res, err := traffic.Ping(ctx, host, netip.MustParseAddr("192.168.0.2"), traffic.PingOptions{Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		return res.Received
	}
	list := func() string {
		t.Helper()
		rules, err := basicfirewall.List(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, rule := range rules {
			s = append(s, fmt.Sprintf("%d %s %d", rule.Index, rule.Prefix, rule.Matches))
		}
		return strings.Join(s, ", ")
	}

	if got := list(); got != "0 10.0.0.0/8 0, 1 172.16.0.0/12 0" {
		t.Errorf("rules after up: %s", got)
	}
	if n := answered(); n != 2 {
		t.Errorf("no rule matches the host, yet %d of 2 pings were answered", n)
	}
	if _, err := basicfirewall.Del(ctx, r, "10.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	rule, err := basicfirewall.Add(ctx, r, "192.168.0.0/24")
	if err != nil || rule.Index != 0 {
		t.Fatalf("Add = %+v, %v; want the freed index 0", rule, err)
	}
	if n := answered(); n != 0 {
		t.Errorf("192.168.0.0/24 is blocked, yet %d of 2 pings were answered", n)
	}
	if got := list(); got != "0 192.168.0.0/24 2, 1 172.16.0.0/12 0" {
		t.Errorf("rules after blocking the host: %s", got)
	}

	reports, err := r.Check(ctx, "basic_firewall")
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
	// The check used a source and a rule of its own: the learner's rules
	// and counters are as they were.
	if got := list(); got != "0 192.168.0.0/24 2, 1 172.16.0.0/12 0" {
		t.Errorf("rules after check: %s", got)
	}

	rule, err = basicfirewall.Del(ctx, r, "192.168.0.0/24")
	if err != nil || rule.Index != 0 || rule.Matches != 2 {
		t.Fatalf("Del = %+v, %v; want index 0 with 2 matches", rule, err)
	}
	if n := answered(); n != 2 {
		t.Errorf("rule removed, yet %d of 2 pings were answered", n)
	}
	// The freed index starts from 0 again.
	if rule, err := basicfirewall.Add(ctx, r, "192.168.0.3"); err != nil || rule.Index != 0 {
		t.Fatalf("Add = %+v, %v; want index 0", rule, err)
	}
	if got := list(); got != "0 192.168.0.3/32 0, 1 172.16.0.0/12 0" {
		t.Errorf("rules after re-adding: %s", got)
	}

	for _, c := range []struct {
		err  error
		want string
	}{
		{func() error { _, err := basicfirewall.Add(ctx, r, "192.168.0.3/32"); return err }(), "already in the blacklist as rule 0"},
		{func() error { _, err := basicfirewall.Del(ctx, r, "10.0.0.0/8"); return err }(), "not in the blacklist (rules: 192.168.0.3/32, 172.16.0.0/12)"},
		{func() error { _, err := basicfirewall.Add(ctx, r, "2001:db8::/32"); return err }(), "is not IPv4"},
		{func() error { _, err := basicfirewall.Add(ctx, r, "abc"); return err }(), `bad CIDR "abc"`},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", c.err, c.want)
		}
	}
	if _, err := r.Down(ctx, "basic_firewall"); err != nil {
		t.Fatal(err)
	}
}

// TestFwLabDown: fw on a lab that is not up says so and leaves nothing.
func TestFwLabDown(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
	want := "basic_firewall is not up in instance " + r.Instance + ": start it with `xdplab up basic_firewall --instance " + r.Instance + "`"
	_, err := basicfirewall.Add(context.Background(), r, "10.0.0.0/8")
	if !errors.Is(err, labs.ErrNotUp) || !strings.Contains(err.Error(), want) {
		t.Errorf("Add = %v, want ErrNotUp with %q", err, want)
	}
	_, err = basicfirewall.List(context.Background(), r)
	if !errors.Is(err, labs.ErrNotUp) {
		t.Errorf("List = %v, want ErrNotUp", err)
	}
}
