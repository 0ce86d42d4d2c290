package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/topology"
)

// app is the command line over the course's registry of labs.
type app struct {
	reg *labs.Registry
}

var (
	instanceFlag = &cli.StringFlag{
		Name: "instance", Value: "xdplab", EnvVars: []string{"XDPLAB_INSTANCE"},
		Usage: "scope every namespace, pin and state file by `NAME`, so several learners or tests share one machine",
	}
	jsonFlag = &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}
	modeFlag = &cli.StringFlag{Name: "mode", Usage: "XDP attach `MODE`: generic (the default) or native; a lab without XDP takes none"}
	objFlag  = &cli.StringFlag{Name: "obj", Usage: "load your own compiled `FILE.o` instead of the lab's program"}
	srcFlag  = &cli.StringFlag{Name: "src", Usage: "build your own `FILE.c` (as `xdplab build` does) and load it instead of the lab's program"}
	stepFlag = &cli.StringFlag{Name: "step", Usage: "the lab's exercise `STEP` (`xdplab steps <lab>` lists them; default: base)"}
)

func newApp() *cli.App {
	a := &app{reg: course.Registry()}
	commands := []*cli.Command{
		a.listCmd(), a.upCmd(), a.checkCmd(), a.runCmd(), a.downCmd(), a.statusCmd(),
		a.execCmd(), a.trafficCmd(), a.watchCmd(), a.captureCmd(), a.topoCmd(), a.guideCmd(),
		buildCmd(), a.stepsCmd(), a.initCmd(),
	}
	commands = append(commands, a.labCommands()...)
	commands = append(commands, doctorCmd(), versionCmd(), completionCmd(), a.hiddenCompleteCmd(), manCmd())
	// --version prints what `xdplab version` does; without -v, which many
	// tools take for --verbose.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and commit, as `xdplab version` does"}
	cli.VersionPrinter = func(c *cli.Context) { writeVersion(c.App.Writer) }
	setUsageErrors(commands)
	return &cli.App{
		Name:                 "xdplab",
		OnUsageError:         flagError,
		Usage:                "reproducible, self-checking XDP/eBPF labs in network namespaces",
		Version:              versionString(),
		EnableBashCompletion: true,
		Flags:                []cli.Flag{instanceFlag},
		ExitErrHandler:       func(*cli.Context, error) {}, // main maps errors to exit codes
		Commands:             commands,
	}
}

// flagError turns what urfave/cli's flag parsing refuses (a flag the
// command does not have, a value that is not a number) into a usage error,
// so it ends as every usage error does: exit 2, with the help hint.
func flagError(c *cli.Context, err error, _ bool) error {
	msg := err.Error()
	if flag, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		flag = "--" + strings.TrimLeft(flag, "-")
		var names []string
		flags := c.App.Flags
		if c.Command != nil {
			flags = c.Command.Flags
		}
		for _, f := range flags {
			for _, n := range f.Names() {
				names = append(names, "--"+n)
			}
		}
		msg = "unknown flag " + flag + suggest(flag, names)
	}
	if c.Command != nil {
		if name := strings.TrimSpace(strings.TrimPrefix(c.Command.HelpName, "xdplab")); name != "" {
			msg = name + ": " + msg
		}
	}
	return usageErr("%s", msg)
}

// setUsageErrors gives every command flagError.
func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = flagError
		setUsageErrors(c.Subcommands)
	}
}

// action is a command's own work, given the runner of the instance the
// command line chose.
type action func(c *cli.Context, r *labs.Runner) error

// act adapts an action to urfave/cli: every command that works on an
// instance gets its runner the same way, with an invalid --instance refused
// as a usage error before anything is looked at.
func (a *app) act(fn action) cli.ActionFunc {
	return func(c *cli.Context) error {
		r, err := a.runner(c)
		if err != nil {
			return err
		}
		return fn(c, r)
	}
}

// withInstance adds --instance to a command's own flags, so it may follow the
// command name too.
func withInstance(flags ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{instanceFlag}, flags...)
}

func instance(c *cli.Context) string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet("instance") {
			return ctx.String("instance")
		}
	}
	return "xdplab"
}

func (a *app) runner(c *cli.Context) (*labs.Runner, error) {
	inst := instance(c)
	if err := topology.ValidateInstance(inst); err != nil {
		return nil, labs.Errorf(labs.ErrUsage, "--instance: %w", err)
	}
	return &labs.Runner{Registry: a.reg, Instance: inst, Log: os.Stderr, Version: versionString(), Commit: commit()}, nil
}

// needRoot is the Before of every command that touches the kernel.
func needRoot(c *cli.Context) error {
	if os.Geteuid() != 0 {
		return labs.Errorf(labs.ErrNotRoot, "`xdplab %s` needs root to manage namespaces and BPF programs: run `sudo xdplab %s`", c.Command.Name, strings.Join(os.Args[1:], " "))
	}
	return nil
}

func usageErr(format string, args ...any) error {
	return labs.Errorf(labs.ErrUsage, "%s", fmt.Sprintf(format, args...))
}

// labFlags are the union of every lab's own flags, for up and run; which
// lab a flag belongs to is the registry's to check (ParseOptions).
func (a *app) labFlags() []cli.Flag {
	var flags []cli.Flag
	for _, f := range a.reg.Flags() {
		usage := fmt.Sprintf("%s (lab %s)", f.Usage, f.Lab)
		if f.Repeatable {
			flags = append(flags, &cli.StringSliceFlag{Name: f.Name, Usage: usage + ", repeatable"})
		} else {
			flags = append(flags, &cli.StringFlag{Name: f.Name, Usage: usage})
		}
	}
	return flags
}

func (a *app) oneLab(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return "", usageErr("name a lab: %s", strings.Join(a.reg.Names(), ", "))
	case 1:
		return c.Args().First(), nil
	}
	return "", usageErr("one lab at a time (got %s)", strings.Join(c.Args().Slice(), " "))
}

func writeJSON(v any) error { return labs.WriteJSONValue(os.Stdout, v) }
