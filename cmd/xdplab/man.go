package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// manCmd writes the manual pages, xdplab(1) and one per command, from the
// command definitions themselves, so they cannot drift from --help. Plain
// roff written here: urfave/cli's writer is built out of the binary
// (urfave_cli_no_docs) and would need go-md2man; `make install` needs
// nothing a fresh machine lacks.
func manCmd() *cli.Command {
	return &cli.Command{
		Name:      "__man",
		Hidden:    true,
		Usage:     "write the manual pages (section 1) into DIR, for make install",
		ArgsUsage: "DIR",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("usage: xdplab __man DIR")
			}
			return writeManPages(c.App, c.Args().First())
		},
	}
}

// manPage is the page name of a command path: xdplab-traffic-ping.
func manPage(path []string) string { return strings.Join(append([]string{"xdplab"}, path...), "-") }

func writeManPages(app *cli.App, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	write := func(name, text string) error {
		if err := os.WriteFile(filepath.Join(dir, name+".1"), []byte(text), 0o644); err != nil {
			return fmt.Errorf("man pages: %w", err)
		}
		return nil
	}
	if err := write("xdplab", mainPage(app)); err != nil {
		return err
	}
	var walk func(cmds []*cli.Command, parent []string) error
	walk = func(cmds []*cli.Command, parent []string) error {
		for _, cmd := range visible(cmds) {
			path := append(append([]string{}, parent...), cmd.Name)
			if err := write(manPage(path), commandPage(cmd, path)); err != nil {
				return err
			}
			if err := walk(cmd.Subcommands, path); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(app.Commands, nil)
}

// visible are the commands help lists: not the hidden ones, nor the help
// command urfave/cli adds.
func visible(cmds []*cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, c := range cmds {
		if !c.Hidden && !isHelp(c.Name) {
			out = append(out, c)
		}
	}
	return out
}

func header(name, what string) string {
	return fmt.Sprintf(".TH %s 1 \"\" \"xdplab %s\" \"xdplab manual\"\n.SH NAME\n%s \\- %s\n",
		strings.ToUpper(name), roff(versionString()), name, roff(what))
}

func mainPage(app *cli.App) string {
	var b strings.Builder
	b.WriteString(header("xdplab", app.Usage))
	b.WriteString(".SH SYNOPSIS\n.B xdplab\n[\\-\\-instance NAME] COMMAND [OPTIONS] [ARGUMENTS]\n")
	b.WriteString(".SH DESCRIPTION\n" + roff("xdplab builds network-namespace topologies and runs self-checking XDP/eBPF labs. "+
		"Commands that touch the kernel need root; list, guide, topo, steps, init, build, version, completion and help do not.") + "\n")
	b.WriteString(".SH GLOBAL OPTIONS\n")
	writeFlags(&b, app.Flags)
	b.WriteString(".SH COMMANDS\n")
	for _, cmd := range visible(app.Commands) {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s See \\fB%s\\fR(1).\n", cmd.Name, roff(cmd.Usage), manPage([]string{cmd.Name}))
	}
	b.WriteString(".SH EXIT STATUS\n" +
		".TP\n.B 0\nall expectations met, or the command did what it was asked\n" +
		".TP\n.B 1\na lab expectation failed; traffic ping got no reply at all\n" +
		".TP\n.B 2\nusage or environment error: the check could not run\n" +
		".TP\n.B 126, 127\nexec: the command cannot be run, or is not there\n")
	b.WriteString(".SH ENVIRONMENT\n" +
		".TP\n.B XDPLAB_INSTANCE\nthe instance, as \\-\\-instance\n" +
		".TP\n.B NO_COLOR\nwhen set and not empty, PASS and FAIL are not coloured on a terminal\n")
	return b.String()
}

func commandPage(cmd *cli.Command, path []string) string {
	var b strings.Builder
	b.WriteString(header(manPage(path), cmd.Usage))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B xdplab %s\n", strings.Join(path, " "))
	var synopsis []string
	if len(cmd.Flags) > 0 {
		synopsis = append(synopsis, "[OPTIONS]")
	}
	if subs := visible(cmd.Subcommands); len(subs) > 0 && cmd.Action == nil {
		synopsis = append(synopsis, "COMMAND")
	}
	if cmd.ArgsUsage != "" {
		synopsis = append(synopsis, cmd.ArgsUsage)
	}
	b.WriteString(roff(strings.Join(synopsis, " ")) + "\n")
	b.WriteString(".SH DESCRIPTION\n" + roff(cmd.Usage) + "\n")
	if cmd.Description != "" {
		b.WriteString(".PP\n.nf\n" + roff(cmd.Description) + "\n.fi\n")
	}
	if subs := visible(cmd.Subcommands); len(subs) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, sub := range subs {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s See \\fB%s\\fR(1).\n", sub.Name, roff(sub.Usage), manPage(append(append([]string{}, path...), sub.Name)))
		}
	}
	if len(cmd.Flags) > 0 {
		b.WriteString(".SH OPTIONS\n")
		writeFlags(&b, cmd.Flags)
	}
	b.WriteString(".SH SEE ALSO\n\\fBxdplab\\fR(1)\n")
	return b.String()
}

// writeFlags writes one tagged paragraph per flag: its names, the
// placeholder its usage names in backquotes (as --help shows it), its
// default and its usage.
func writeFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		d, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		usage := d.GetUsage()
		placeholder := ""
		if before, rest, ok := strings.Cut(usage, "`"); ok {
			if p, after, ok := strings.Cut(rest, "`"); ok {
				placeholder, usage = p, before+p+after
			}
		}
		if placeholder == "" && d.TakesValue() {
			placeholder = "VALUE"
		}
		var names []string
		for _, n := range f.Names() {
			dashes := "\\-\\-"
			if len(n) == 1 {
				dashes = "\\-"
			}
			names = append(names, "\\fB"+dashes+roff(n)+"\\fR")
		}
		tag := strings.Join(names, ", ")
		if placeholder != "" {
			tag += " \\fI" + roff(placeholder) + "\\fR"
		}
		if v := d.GetValue(); v != "" && d.TakesValue() && v != `""` && v != "0" {
			usage += " (default " + v + ")"
		}
		if env := d.GetEnvVars(); len(env) > 0 {
			usage += " (environment " + strings.Join(env, ", ") + ")"
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", tag, roff(usage))
	}
}

// roff escapes text for a roff line: backslashes, and a line that would
// start with a control character.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
