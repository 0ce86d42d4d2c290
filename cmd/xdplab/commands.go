package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/doctor"
	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/topology"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

var (
	instanceFlag = &cli.StringFlag{
		Name: "instance", Value: "xdplab", EnvVars: []string{"XDPLAB_INSTANCE"},
		Usage: "scope every namespace, pin and state file by `NAME`, so several learners or tests share one machine",
	}
	jsonFlag = &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}
	modeFlag = &cli.StringFlag{Name: "mode", Value: "generic", Usage: "XDP attach `MODE`: generic or native"}
	objFlag  = &cli.StringFlag{Name: "obj", Usage: "load your own compiled `FILE.o` instead of the lab's program"}
)

func newApp() *cli.App {
	reg := course.Registry()
	return &cli.App{
		Name:                 "xdplab",
		Usage:                "reproducible, self-checking XDP/eBPF labs in network namespaces",
		Version:              versionString(),
		HideVersion:          true,
		EnableBashCompletion: true,
		Flags:                []cli.Flag{instanceFlag},
		ExitErrHandler:       func(*cli.Context, error) {}, // main maps errors to exit codes
		Commands: []*cli.Command{
			listCmd(reg), upCmd(reg), checkCmd(reg), runCmd(reg), downCmd(reg), statusCmd(reg),
			execCmd(reg), trafficCmd(reg), watchCmd(reg), captureCmd(reg), topoCmd(reg), guideCmd(reg),
			fwCmd(reg),
			doctorCmd(), versionCmd(),
		},
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

func runner(c *cli.Context, reg *labs.Registry) (*labs.Runner, error) {
	inst := instance(c)
	if err := topology.ValidateInstance(inst); err != nil {
		return nil, labs.Errorf(labs.ErrUsage, "--instance: %w", err)
	}
	return &labs.Runner{Registry: reg, Instance: inst, Log: os.Stderr}, nil
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

// labFlags are the union of every lab's own flags; each lab rejects the ones
// that are not its own.
func labFlags(reg *labs.Registry) []cli.Flag {
	var flags []cli.Flag
	seen := map[string]bool{}
	for _, l := range reg.All() {
		for _, f := range l.Flags() {
			if seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			usage := fmt.Sprintf("%s (lab %s)", f.Usage, l.Name())
			if f.Repeatable {
				flags = append(flags, &cli.StringSliceFlag{Name: f.Name, Usage: usage + ", repeatable"})
			} else {
				flags = append(flags, &cli.StringFlag{Name: f.Name, Usage: usage})
			}
		}
	}
	return flags
}

// labOptions collects mode, obj and the lab flags given; a flag of another lab
// is a usage error.
func labOptions(c *cli.Context, reg *labs.Registry, names []string) (labs.Options, error) {
	mode, err := labs.ParseMode(c.String("mode"))
	if err != nil {
		return labs.Options{}, err
	}
	opts := labs.Options{Mode: mode, Obj: c.String("obj"), Values: map[string][]string{}}
	for _, l := range reg.All() {
		for _, f := range l.Flags() {
			if !c.IsSet(f.Name) {
				continue
			}
			owned := false
			for _, n := range names {
				owned = owned || n == l.Name()
			}
			if !owned {
				return opts, usageErr("--%s is a flag of lab %s", f.Name, l.Name())
			}
			if f.Repeatable {
				opts.Values[f.Name] = c.StringSlice(f.Name)
			} else {
				opts.Values[f.Name] = []string{c.String(f.Name)}
			}
		}
	}
	if opts.Obj != "" && len(names) != 1 {
		return opts, usageErr("--obj replaces one lab's program: name exactly one lab")
	}
	return opts, nil
}

func oneLab(c *cli.Context, reg *labs.Registry) (string, error) {
	switch c.NArg() {
	case 0:
		return "", usageErr("name a lab: %s", strings.Join(reg.Names(), ", "))
	case 1:
		return c.Args().First(), nil
	}
	return "", usageErr("one lab at a time (got %s)", strings.Join(c.Args().Slice(), " "))
}

func listCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the labs in course order, with their state",
		Flags: withInstance(jsonFlag),
		Action: func(c *cli.Context) error {
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			conds, err := r.Conditions()
			if err != nil {
				return err
			}
			state := map[string]labs.Condition{}
			for _, c := range conds {
				state[c.Lab] = c
			}
			type row struct {
				Lab        string        `json:"lab"`
				Summary    string        `json:"summary"`
				State      string        `json:"state"`
				Problem    *labs.Problem `json:"problem,omitempty"`
				Playground bool          `json:"playground,omitempty"`
			}
			var rows []row
			damaged := false
			for _, l := range reg.All() {
				c := state[l.Name()]
				rows = append(rows, row{l.Name(), l.Summary(), c.State, c.Problem, false})
				damaged = damaged || c.State == labs.CondDamaged
			}
			for _, c := range conds {
				if c.Playground {
					rows = append(rows, row{c.Lab, "playground: " + c.Summary, c.State, c.Problem, true})
					damaged = damaged || c.State == labs.CondDamaged
				}
			}
			if c.Bool("json") {
				if err := writeJSON(rows); err != nil {
					return err
				}
			} else {
				for i, rw := range rows {
					if rw.Playground {
						fmt.Printf("   %-16s %-7s %s\n", rw.Lab, rw.State, rw.Summary)
						continue
					}
					fmt.Printf("%d. %-16s %-7s %s\n", i+1, rw.Lab, rw.State, rw.Summary)
				}
				for _, rw := range rows {
					if rw.Problem != nil {
						fmt.Printf("\n%s: %s\n  fix: %s\n", rw.Lab, rw.Problem.What, rw.Problem.Fix)
					}
				}
			}
			if damaged {
				return labs.Errorf(labs.ErrEnvironment, "the state of some labs of instance %s is damaged (see above)", r.Instance)
			}
			return nil
		},
	}
}

func upCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "up",
		Usage:     "build a lab's topology and attach its programs; they stay attached after xdplab exits",
		ArgsUsage: "<lab> | --topology FILE",
		Flags: withInstance(append([]cli.Flag{modeFlag, objFlag,
			&cli.StringFlag{Name: "topology", Usage: "build a playground, the topology of `FILE` with no lab"},
		}, labFlags(reg)...)...),
		Before: needRoot,
		Action: func(c *cli.Context) error {
			if file := c.String("topology"); file != "" {
				return upPlayground(c, reg, file)
			}
			name, err := oneLab(c, reg)
			if err != nil {
				return err
			}
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			if _, err := reg.Get(name); err != nil {
				return err
			}
			opts, err := labOptions(c, reg, []string{name})
			if err != nil {
				return err
			}
			if err := r.Up(c.Context, name, opts); err != nil {
				return err
			}
			return printUp(r, name, opts)
		},
	}
}

func upPlayground(c *cli.Context, reg *labs.Registry, file string) error {
	if c.NArg() > 0 {
		return usageErr("--topology builds a playground, with no lab: give no lab name (got %s)", strings.Join(c.Args().Slice(), " "))
	}
	if c.IsSet("mode") || c.IsSet("obj") {
		return usageErr("--mode and --obj choose a lab's program; a playground has none")
	}
	if _, err := labOptions(c, reg, nil); err != nil {
		return err
	}
	r, err := runner(c, reg)
	if err != nil {
		return err
	}
	spec, err := topology.Load(file)
	if err != nil {
		return err
	}
	if err := r.UpPlayground(c.Context, spec); err != nil {
		return err
	}
	return r.WritePlaygroundUp(os.Stdout, spec.Name)
}

func printUp(r *labs.Runner, name string, opts labs.Options) error {
	lab, env, err := r.Open(name)
	if err != nil {
		return err
	}
	defer env.Topo.Close()
	fmt.Printf("%s is up (%s mode, instance %s)\n\n", name, opts.Mode, r.Instance)
	env.Topo.WriteText(os.Stdout, labs.Annotations(lab))
	fmt.Println("\nnext:")
	for _, s := range labs.NextSteps(lab, r.Instance) {
		fmt.Println("  " + s)
	}
	return nil
}

func reportFlags() []cli.Flag {
	return []cli.Flag{jsonFlag, &cli.StringFlag{Name: "junit", Usage: "also write a JUnit XML report to `FILE`"}}
}

// reportPathWritable refuses a --junit path that cannot be written, before
// anything is built: finding out after a whole run would waste it.
func reportPathWritable(c *cli.Context) error {
	path := c.String("junit")
	if path == "" {
		return nil
	}
	refuse := func(why error) error {
		return usageErr("--junit %s: %v; nothing was started: give a file in a directory that exists and that you can write", path, why)
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return usageErr("--junit %s is a directory; nothing was started: name a file, e.g. %s", path, filepath.Join(path, "xdplab.xml"))
		}
		if err := unix.Access(path, unix.W_OK); err != nil {
			return refuse(fmt.Errorf("cannot write it: %w", err))
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return refuse(err)
	}
	dir := filepath.Dir(path)
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return refuse(fmt.Errorf("cannot create a file in %s: %w", dir, err))
	}
	return nil
}

// writeReports prints the reports on stdout first, so the results are there
// whatever happens to the JUnit file, then writes that file.
func writeReports(c *cli.Context, reports []*labs.Report, summary bool) error {
	if c.Bool("json") {
		if err := labs.WriteJSON(os.Stdout, reports); err != nil {
			return err
		}
		// The JSON holds the cause too, but stderr is what a person sees.
		for _, r := range reports {
			if r.Verdict == labs.VerdictError {
				fmt.Fprintf(os.Stderr, "xdplab: could not check %s: %s\n", r.Lab, r.Error)
			}
		}
	} else {
		labs.WriteText(os.Stdout, reports)
		if summary {
			labs.WriteSummary(os.Stdout, reports)
		}
	}
	if f := c.String("junit"); f != "" {
		if err := writeJUnit(f, reports); err != nil {
			return labs.Errorf(labs.ErrEnvironment, "write the JUnit report %s: %w: the results above are complete; write it elsewhere with --junit FILE next time", f, err)
		}
	}
	switch labs.Outcome(reports) {
	case labs.VerdictError:
		return errCouldNotCheck
	case labs.VerdictFail:
		return errChecksFailed
	}
	return nil
}

func writeJUnit(path string, reports []*labs.Report) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	err = labs.WriteJUnit(out, reports)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func checkCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "drive traffic through a lab that is up and verify every expectation",
		ArgsUsage: "[<lab>]",
		Flags:     withInstance(reportFlags()...),
		Before:    needRoot,
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErr("check one lab, or all that are up with no argument")
			}
			if err := reportPathWritable(c); err != nil {
				return err
			}
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			reports, err := r.Check(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			return writeReports(c, reports, false)
		},
	}
}

func runCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "up, check and down each lab in turn, with a summary (the grading and CI entry point)",
		ArgsUsage: "<lab>... | --all",
		Flags: withInstance(append(append([]cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "every lab, in course order"}, modeFlag, objFlag,
		}, reportFlags()...), labFlags(reg)...)...),
		Before: needRoot,
		Action: func(c *cli.Context) error {
			names := c.Args().Slice()
			if c.Bool("all") {
				if len(names) > 0 {
					return usageErr("give lab names or --all, not both")
				}
				names = reg.Names()
			}
			if len(names) == 0 {
				return usageErr("name the labs to run, or --all (labs: %s)", strings.Join(reg.Names(), ", "))
			}
			for _, n := range names {
				if _, err := reg.Get(n); err != nil {
					return err
				}
			}
			opts, err := labOptions(c, reg, names)
			if err != nil {
				return err
			}
			if err := reportPathWritable(c); err != nil {
				return err
			}
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			reports, err := r.Run(c.Context, names, opts)
			if err != nil {
				return err
			}
			return writeReports(c, reports, true)
		},
	}
}

func downCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "remove a lab or playground (or, with no name or --all, everything of the instance): pins, programs, namespaces, state",
		ArgsUsage: "[<lab>|<playground>]",
		Flags:     withInstance(&cli.BoolFlag{Name: "all", Usage: "every lab of the instance"}),
		Before:    needRoot,
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 || (c.NArg() == 1 && c.Bool("all")) {
				return usageErr("down takes one lab, or --all")
			}
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			name := c.Args().First()
			removed, err := r.Down(c.Context, name)
			if err != nil {
				return err
			}
			if len(removed) == 0 {
				fmt.Println(nothingRemoved(r, name))
				return nil
			}
			fmt.Printf("removed %s (instance %s)\n", strings.Join(removed, ", "), r.Instance)
			return nil
		},
	}
}

// nothingRemoved says why down removed nothing: for a named lab, that it
// was not up, and which labs of the instance are.
func nothingRemoved(r *labs.Runner, name string) string {
	if name == "" {
		return fmt.Sprintf("nothing of instance %s was up", r.Instance)
	}
	up, _ := r.UpLabs()
	switch len(up) {
	case 0:
		return fmt.Sprintf("%s was not up in instance %s, nor was any other lab", name, r.Instance)
	case 1:
		return fmt.Sprintf("%s was not up in instance %s; %s is (%s takes it down)", name, r.Instance, up[0].Lab, r.Cmd("down "+up[0].Lab))
	}
	var names []string
	for _, u := range up {
		names = append(names, u.Lab)
	}
	return fmt.Sprintf("%s was not up in instance %s; these labs are: %s (%s takes them all down)", name, r.Instance, strings.Join(names, ", "), r.Cmd("down --all"))
}

func statusCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:   "status",
		Usage:  "namespaces, interfaces, attached programs and pinned maps of the labs that are up",
		Flags:  withInstance(jsonFlag),
		Before: needRoot,
		Action: func(c *cli.Context) error {
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			st, err := r.Status()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if err := writeJSON(st); err != nil {
					return err
				}
			} else {
				labs.WriteStatus(os.Stdout, st)
			}
			if st.Troubled() {
				return labs.Errorf(labs.ErrEnvironment, "status found problems in instance %s (see above)", r.Instance)
			}
			return nil
		},
	}
}

// nodeNS finds a node among the labs that are up: "node" when one lab is up,
// "lab/node" to pick one of several.
func nodeNS(c *cli.Context, reg *labs.Registry, node string) (*namespace.NS, error) {
	r, err := runner(c, reg)
	if err != nil {
		return nil, err
	}
	up, err := r.UpLabs()
	if err != nil {
		return nil, err
	}
	labName := c.String("lab")
	if l, n, ok := strings.Cut(node, "/"); ok {
		labName, node = l, n
	}
	if labName == "" {
		switch len(up) {
		case 0:
			return nil, labs.Errorf(labs.ErrNotUp, "nothing is up in instance %s: start a lab with %s", r.Instance, r.Cmd("up <lab>"))
		case 1:
			labName = up[0].Lab
		default:
			var names []string
			for _, u := range up {
				names = append(names, u.Lab)
			}
			return nil, usageErr("several labs are up (%s): say which, as LAB/%s", strings.Join(names, ", "), node)
		}
	}
	res, err := r.Resolved(labName)
	if err != nil {
		return nil, err
	}
	if _, ok := res.Node(node); !ok {
		kind := "lab"
		if _, err := reg.Get(labName); err != nil {
			kind = "playground"
		}
		return nil, usageErr("unknown node %q in %s %s: nodes are %s", node, kind, labName, strings.Join(res.NodeNames(), ", "))
	}
	ns, err := namespace.Open(topology.NamespaceName(r.Instance, labName, node))
	if err != nil {
		return nil, labs.Errorf(labs.ErrNotUp, "%s is not up in instance %s: start it with %s", labName, r.Instance, r.Cmd("up "+labName))
	}
	return ns, nil
}

var labFlag = &cli.StringFlag{Name: "lab", Usage: "the `LAB` (or playground) whose node is meant, when several are up"}

func execCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command inside a node's namespace",
		ArgsUsage: "<node> -- CMD [ARGS...]",
		Flags:     withInstance(labFlag),
		Before:    needRoot,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) < 2 {
				return usageErr("usage: xdplab exec <node>%s -- CMD [ARGS...]", labs.InstanceFlag(instance(c)))
			}
			node, cmdArgs := args[0], args[1:]
			if cmdArgs[0] == "--" {
				cmdArgs = cmdArgs[1:]
			}
			if len(cmdArgs) == 0 {
				return usageErr("usage: xdplab exec <node>%s -- CMD [ARGS...]", labs.InstanceFlag(instance(c)))
			}
			ns, err := nodeNS(c, reg, node)
			if err != nil {
				return err
			}
			path, err := exec.LookPath(cmdArgs[0])
			if err != nil {
				return labs.Errorf(labs.ErrUsage, "%w", err)
			}
			// execve replaces the whole process with this thread's image, so
			// the command starts in the namespace this thread entered.
			runtime.LockOSThread()
			if err := netns.Set(netns.NsHandle(ns.Fd())); err != nil {
				return fmt.Errorf("enter %s: %w", ns.Name, err)
			}
			return syscall.Exec(path, cmdArgs, os.Environ())
		},
	}
}

func trafficCmd(reg *labs.Registry) *cli.Command {
	sub := func(kind, usage string) *cli.Command {
		return &cli.Command{
			Name:  kind,
			Usage: usage,
			Flags: withInstance(labFlag,
				&cli.StringFlag{Name: "from", Value: "host", Usage: "the `NODE` that sends"},
				&cli.StringFlag{Name: "to", Required: true, Usage: "destination `ADDR` (ping) or ADDR:PORT (tcp, udp)"},
				&cli.IntFlag{Name: "count", Aliases: []string{"c"}, Value: traffic.DefaultCount, Usage: "how many packets or connections (`N`, at least 1)"},
			),
			Before: needRoot,
			Action: func(c *cli.Context) error {
				// Bad arguments are the answer even when nothing is up.
				if err := traffic.CheckRequest(kind, c.String("to"), c.Int("count")); err != nil {
					return fmt.Errorf("traffic %s: %w", kind, err)
				}
				ns, err := nodeNS(c, reg, c.String("from"))
				if err != nil {
					return err
				}
				defer ns.Close()
				if err := traffic.Run(c.Context, ns, kind, c.String("to"), c.Int("count"), os.Stdout); err != nil {
					return fmt.Errorf("traffic %s: %w", kind, err)
				}
				return nil
			},
		}
	}
	return &cli.Command{
		Name:  "traffic",
		Usage: "send pure-Go traffic from a node (no ping, nc or curl needed)",
		Subcommands: []*cli.Command{
			sub("ping", "ICMP echo requests with 56-byte payloads, replies counted"),
			sub("tcp", "TCP connections that send a line"),
			sub("udp", "UDP datagrams"),
		},
	}
}

func watchCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "live view of a lab's maps and events, in its tutorial's format (Ctrl-C stops)",
		ArgsUsage: "<lab>",
		Flags:     withInstance(),
		Before:    needRoot,
		Action: func(c *cli.Context) error {
			name, err := oneLab(c, reg)
			if err != nil {
				return err
			}
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			lab, env, err := r.Open(name)
			if err != nil {
				return err
			}
			defer env.Topo.Close()
			return lab.Watch(c.Context, env, os.Stdout)
		},
	}
}

func topoCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "topo",
		Usage:     "draw the topologies of labs, playgrounds or topology files (every lab with none) as one document",
		ArgsUsage: "[<lab>|<playground>|FILE...]",
		Flags:     withInstance(&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, dot or mermaid"}),
		Subcommands: []*cli.Command{{
			Name:      "validate",
			Usage:     "check a topology file; name every problem with its line",
			ArgsUsage: "FILE",
			Flags:     withInstance(),
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usageErr("usage: xdplab topo validate FILE")
				}
				file := c.Args().First()
				spec, err := topology.Load(file)
				if err != nil {
					return err
				}
				fmt.Printf("%s: ok (%s)\n", file, spec.Summary())
				return nil
			},
		}},
		Action: func(c *cli.Context) error {
			r, err := runner(c, reg)
			if err != nil {
				return err
			}
			drawings, err := r.Drawings(c.Args().Slice())
			if err != nil {
				return err
			}
			if err := topology.Draw(os.Stdout, c.String("format"), drawings...); err != nil {
				return usageErr("--format: %v", err)
			}
			return nil
		},
	}
}

func guideCmd(reg *labs.Registry) *cli.Command {
	return &cli.Command{
		Name:      "guide",
		Usage:     "print a lab's guide (docs/labs/<lab>.md)",
		ArgsUsage: "<lab>",
		Action: func(c *cli.Context) error {
			name, err := oneLab(c, reg)
			if err != nil {
				return err
			}
			lab, err := reg.Get(name)
			if err != nil {
				return err
			}
			fmt.Print(lab.Guide())
			return nil
		},
	}
}

func doctorCmd() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check this machine for what the labs need (and mount bpffs if it is missing)",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			items := doctor.Run(true)
			if c.Bool("json") {
				if err := writeJSON(items); err != nil {
					return err
				}
			} else {
				doctor.Write(os.Stdout, items)
			}
			if doctor.Failed(items) {
				return labs.Errorf(labs.ErrEnvironment, "some preflight items failed (see the fixes above)")
			}
			return nil
		},
	}
}

func versionCmd() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Println("xdplab " + versionString())
			return nil
		},
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" && (v == "" || v == "(devel)") {
		v = "devel-" + rev[:min(12, len(rev))]
		if settings["vcs.modified"] == "true" {
			v += "-dirty"
		}
	}
	if v == "" {
		v = "devel"
	}
	return v + " " + bi.GoVersion
}
