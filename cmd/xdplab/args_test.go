package main

import (
	"errors"
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
		{"xdplab traffic ping --to 192.168.0.2 -c -1", "xdplab traffic ping --to 192.168.0.2 -c -1"},
		{"xdplab capture xdpcap icmp -w -", "xdplab capture -w - xdpcap icmp"},
		{"xdplab help up", "xdplab help up"},
		{"xdplab topo redirect --format dot", "xdplab topo --format dot redirect"},
		{"xdplab topo validate lab.yaml --instance a", "xdplab topo validate --instance a lab.yaml"},
		{"xdplab traffic help ping", "xdplab traffic help ping"},
		{"xdplab up redirect --mode --generate-bash-completion", "xdplab up redirect --mode --generate-bash-completion"},
	}
	for _, c := range cases {
		args, err := interspersed(strings.Fields(c.in))
		if got := strings.Join(args, " "); err != nil || got != c.want {
			t.Errorf("interspersed(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestInterspersedRefuses: what urfave/cli would misread is a usage error
// that names the flag or the word.
func TestInterspersedRefuses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"xdplab down packet_counter --instance", "--instance needs a value, as in `--instance NAME`"},
		{"xdplab --instance", "--instance needs a value"},
		{"xdplab --instance down", "--instance needs a value, as in `--instance NAME` (it took 'down', which left no command)"},
		{"xdplab status --instance --json", "--instance needs a value"},
		{"xdplab up redirect --obj --mode native", "--obj needs a value, as in `--obj FILE.o`"},
		{"xdplab up redirect --obj=", "--obj needs a value"},
		{"xdplab up redirect --obj ", "--obj needs a value"},
		{"xdplab exec node1 --lab -- true", "--lab needs a value, as in `--lab LAB`"},
		{"xdplab traffic ping --to 192.168.0.2 -c", "-c needs a value, as in `-c N`"},
		{"xdplab traffic udp --to -c 3", "--to needs a value, as in `--to ADDR`"},
		{"xdplab nosuchcommand --x", "unknown command 'nosuchcommand'"},
		{"xdplab stauts", "unknown command 'stauts': did you mean 'status'?"},
		{"xdplab chekc redirect", "unknown command 'chekc': did you mean 'check'?"},
		{"xdplab help frobnicate", "unknown command 'frobnicate' (`xdplab help`"},
		{"xdplab traffic bogus", "unknown traffic subcommand 'bogus' (traffic has ping, tcp, udp)"},
		{"xdplab fw lst", "unknown fw subcommand 'lst': did you mean 'list'?"},
	} {
		// Fields would drop the empty value: split on single spaces.
		args, err := interspersed(strings.Split(c.in, " "))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("interspersed(%q) = %q, %v; want an error containing %q", c.in, args, err, c.want)
		}
		if !errors.Is(err, labs.ErrUsage) {
			t.Errorf("interspersed(%q): %v is not a usage error", c.in, err)
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"list", "up", "check", "run", "down", "status", "exec", "traffic"}
	for word, want := range map[string]string{"stauts": "status", "lsit": "list", "dwon": "down", "ru": "run", "trafic": "traffic", "frobnicate": "", "bogus": ""} {
		if got := closest(word, names); got != want {
			t.Errorf("closest(%q) = %q, want %q", word, got, want)
		}
	}
}

// parseUp runs the up command's flag parsing on args and returns its context.
func parseUp(t *testing.T, args ...string) *cli.Context {
	t.Helper()
	cmd := (&app{reg: course.Registry()}).upCmd()
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

// TestLabOptions parses up's command line as urfave/cli does and hands it
// to the registry, which owns what the options mean.
func TestLabOptions(t *testing.T) {
	reg := course.Registry()
	c := parseUp(t, "--mode", "native")
	opts, err := reg.ParseOptions([]string{"packet_counter"}, c)
	if err != nil || opts.Mode != labs.ModeNative {
		t.Fatalf("ParseOptions = %+v, %v", opts, err)
	}
	c = parseUp(t)
	if opts, err := reg.ParseOptions([]string{"packet_counter"}, c); err != nil || opts.Mode != "" {
		t.Errorf("no --mode: %+v, %v; want the lab's default (empty)", opts, err)
	}
	c = parseUp(t, "--mode", "fast")
	if _, err := reg.ParseOptions([]string{"packet_counter"}, c); err == nil || !strings.Contains(err.Error(), `unknown mode "fast"`) {
		t.Errorf("bad mode: %v", err)
	}
	c = parseUp(t, "--obj", "x.o")
	if _, err := reg.ParseOptions([]string{"packet_counter", "other"}, c); err == nil || !strings.Contains(err.Error(), "exactly one lab") {
		t.Errorf("--obj with two labs: %v", err)
	}
	// Lab flags belong to their lab.
	for _, f := range reg.Flags() {
		for _, other := range reg.Names() {
			if other == f.Lab {
				continue
			}
			c := parseUp(t, "--"+f.Name, "x")
			_, err := reg.ParseOptions([]string{other}, c)
			if err == nil || !strings.Contains(err.Error(), "--"+f.Name+" is a flag of lab "+f.Lab) {
				t.Errorf("--%s given to %s: %v", f.Name, other, err)
			}
		}
	}
}
