package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

func TestInterspersed(t *testing.T) {
	cases := []struct{ in, want string }{
		{"xdplab up redirect --mode native", "xdplab up --mode native redirect"},
		{"xdplab up --mode=native redirect", "xdplab up --mode=native redirect"},
		{"xdplab run packet_counter xdp_dump --json --instance a", "xdplab run --json --instance a packet_counter xdp_dump"},
		{"xdplab --instance a check --json", "xdplab --instance a check --json"},
		{"xdplab exec node1 --instance a -- ip -br link", "xdplab exec --instance a node1 -- ip -br link"},
		{"xdplab traffic ping --from host --to 192.168.0.2 -c 5", "xdplab traffic ping --from host --to 192.168.0.2 -c 5"},
		{"xdplab list", "xdplab list"},
		{"xdplab nosuchcommand --x", "xdplab nosuchcommand --x"},
	}
	for _, c := range cases {
		got := strings.Join(interspersed(strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("interspersed(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// parseUp runs the up command's flag parsing on args and returns its context.
func parseUp(t *testing.T, args ...string) *cli.Context {
	t.Helper()
	reg := course.Registry()
	cmd := upCmd(reg)
	set := flag.NewFlagSet("up", flag.ContinueOnError)
	for _, f := range cmd.Flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(&cli.App{}, set, nil)
}

func TestLabOptions(t *testing.T) {
	reg := course.Registry()
	c := parseUp(t, "--mode", "native")
	opts, err := labOptions(c, reg, []string{"packet_counter"})
	if err != nil || opts.Mode != labs.ModeNative {
		t.Fatalf("labOptions = %+v, %v", opts, err)
	}
	c = parseUp(t, "--mode", "fast")
	if _, err := labOptions(c, reg, []string{"packet_counter"}); err == nil || !strings.Contains(err.Error(), `unknown mode "fast"`) {
		t.Errorf("bad mode: %v", err)
	}
	c = parseUp(t, "--obj", "x.o")
	if _, err := labOptions(c, reg, []string{"packet_counter", "other"}); err == nil || !strings.Contains(err.Error(), "exactly one lab") {
		t.Errorf("--obj with two labs: %v", err)
	}
	// Lab flags belong to their lab.
	for _, l := range reg.All() {
		for _, f := range l.Flags() {
			for _, other := range reg.Names() {
				if other == l.Name() {
					continue
				}
				c := parseUp(t, "--"+f.Name, "x")
				_, err := labOptions(c, reg, []string{other})
				if err == nil || !strings.Contains(err.Error(), "--"+f.Name+" is a flag of lab "+l.Name()) {
					t.Errorf("--%s given to %s: %v", f.Name, other, err)
				}
			}
		}
	}
}
