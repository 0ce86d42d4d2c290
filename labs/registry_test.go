package labs_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	packetcounter "github.com/xdplab/xdplab/labs/packet_counter"
)

// fakeLab is a lab that is only its Info, for registry tests.
type fakeLab struct{ info labs.Info }

func (l fakeLab) Info() labs.Info                                       { return l.info }
func (fakeLab) Validate(labs.Options) error                             { return nil }
func (fakeLab) Up(context.Context, *labs.Env) error                     { return nil }
func (fakeLab) Check(context.Context, *labs.Env) ([]labs.Result, error) { return nil, nil }
func (fakeLab) Watch(context.Context, *labs.Env, io.Writer) error       { return nil }
func (l fakeLab) with(change func(*labs.Info)) fakeLab                  { change(&l.info); return l }
func (l commanderLab) Commands() []labs.Command                         { return l.cmds }

type commanderLab struct {
	fakeLab
	cmds []labs.Command
}

// xdpLab is a complete, valid Info to break one field at a time.
func xdpLab(name string) fakeLab {
	return fakeLab{labs.Info{
		Name: name, Summary: "a lab", Source: "a text",
		Topology: "pair",
		Modes:    []labs.Mode{labs.ModeGeneric, labs.ModeNative},
		Attach:   []labs.Attach{{Node: "node1", Iface: "veth1", Hook: labs.HookXDP, Program: "prog"}},
		Next:     []string{"sudo xdplab traffic ping --from host --to {addr:dut}{instance}"},
		Guide:    "# " + name + " — what it is\n\ntext\n",
	}}
}

func TestRegistry(t *testing.T) {
	r := labs.NewRegistry()
	if err := r.Register(packetcounter.New()); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(packetcounter.New()); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Errorf("duplicate: %v", err)
	}
	_, err := r.Get("packet_countr")
	if !errors.Is(err, labs.ErrUnknownLab) || !strings.Contains(err.Error(), "valid labs are packet_counter") {
		t.Errorf("unknown: %v", err)
	}
}

// TestRegisterValidatesInfo: a lab whose Info is incomplete or names what
// does not exist is refused when it registers, with the field named.
func TestRegisterValidatesInfo(t *testing.T) {
	if err := labs.NewRegistry().Register(xdpLab("fine")); err != nil {
		t.Fatalf("a complete Info is refused: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(*labs.Info)
		want   string
	}{
		{"bad name", func(i *labs.Info) { i.Name = "Bad-Name" }, `invalid lab name "Bad-Name"`},
		{"no summary", func(i *labs.Info) { i.Summary = "" }, "no summary"},
		{"no source", func(i *labs.Info) { i.Source = "" }, "no source"},
		{"unknown topology", func(i *labs.Info) { i.Topology = "ring" }, `topology "ring": no such embedded topology (have line, pair, redirect, single, star)`},
		{"unknown mode", func(i *labs.Info) { i.Modes = []labs.Mode{"turbo"} }, `mode "turbo"`},
		{"mode twice", func(i *labs.Info) { i.Modes = []labs.Mode{labs.ModeNative, labs.ModeNative} }, "each one once"},
		{"xdp without modes", func(i *labs.Info) { i.Modes = nil }, "declares no modes"},
		{"modes without xdp", func(i *labs.Info) { i.Attach[0].Hook = labs.HookSocket }, "no XDP attach point"},
		{"no attach point", func(i *labs.Info) { i.Attach = nil }, "no attach point"},
		{"attach to a missing interface", func(i *labs.Info) { i.Attach[0].Iface = "veth9" }, "attach point node1/veth9: no such interface in topology pair"},
		{"attach to a missing node", func(i *labs.Info) { i.Attach[0].Node = "node7" }, "attach point node7/veth1: no such interface"},
		{"unknown hook", func(i *labs.Info) { i.Attach[0].Hook = "tc" }, `hook "tc"`},
		{"attach point without program", func(i *labs.Info) { i.Attach[0].Program = "" }, "no program"},
		{"reserved flag", func(i *labs.Info) { i.Flags = []labs.Flag{{Name: "mode", Usage: "x"}} }, "--mode: up and run have it already"},
		{"flag without usage", func(i *labs.Info) { i.Flags = []labs.Flag{{Name: "x"}} }, `flag "x": a name and a usage`},
		{"next step with unknown role", func(i *labs.Info) { i.Next = []string{"ping {addr:gateway}"} }, `no role "gateway"`},
		{"next step with unknown node", func(i *labs.Info) { i.Next = []string{"ip netns exec {ns:node9} true"} }, `no node "node9"`},
		{"next step with unknown placeholder", func(i *labs.Info) { i.Next = []string{"{mode}"} }, "unknown placeholder {mode}"},
		{"key format missing", func(i *labs.Info) { i.Keys = map[string]labs.KeyFormat{"m": nil} }, "map m: no key format"},
		{"numbered guide", func(i *labs.Info) { i.Guide = "# Lab 1: x — y\n" }, "the first line must be"},
		{"no guide", func(i *labs.Info) { i.Guide = "" }, "the first line must be"},
		{"step before the base", func(i *labs.Info) { i.Steps = []labs.Step{{Name: "more", Summary: "s", Files: stepFiles}} }, `step "more" comes first`},
		{"second base", func(i *labs.Info) {
			i.Steps = []labs.Step{{Summary: "s", Files: stepFiles}, {Summary: "s", Files: stepFiles}}
		}, "step 2 has no name"},
		{"step named base", func(i *labs.Info) {
			i.Steps = []labs.Step{{Summary: "s", Files: stepFiles}, {Name: "base", Summary: "s", Files: stepFiles}}
		}, `step "base": that is the base exercise's name`},
		{"step name", func(i *labs.Info) {
			i.Steps = []labs.Step{{Summary: "s", Files: stepFiles}, {Name: "Drop-ICMP", Summary: "s", Files: stepFiles}}
		}, "a step name is lowercase"},
		{"step twice", func(i *labs.Info) {
			i.Steps = []labs.Step{{Summary: "s", Files: stepFiles}, {Name: "a", Summary: "s", Files: stepFiles}, {Name: "a", Summary: "s", Files: stepFiles}}
		}, `step "a" declared twice`},
		{"step without summary", func(i *labs.Info) { i.Steps = []labs.Step{{Files: stepFiles}} }, "step base: no summary"},
		{"step without files", func(i *labs.Info) { i.Steps = []labs.Step{{Summary: "s"}} }, "step base: no files (broken.c, exercise.md)"},
		{"step without its program", func(i *labs.Info) { i.Steps = []labs.Step{{Summary: "s", Files: fstest.MapFS{"exercise.md": {}}}} }, "step base: its files lack broken.c"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lab := xdpLab("broken").with(func(i *labs.Info) {
				i.Attach = slices.Clone(i.Attach)
				c.change(i)
			})
			// What needs the topology decoded is Verify's to find (the
			// tests run it for every lab), not Register's at every start.
			r := labs.NewRegistry()
			err := r.Register(lab)
			if err != nil && len(r.Names()) != 0 {
				t.Errorf("the lab was registered anyway: %v", r.Names())
			}
			if err == nil {
				err = lab.Info().Verify()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Register or Verify = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// stepFiles are the files a step of the lab "broken" has.
var stepFiles = fstest.MapFS{"broken.c": {}, "exercise.md": {}}

// TestStepNamed: "" and "base" name the base exercise; an unknown step is a
// usage error that lists the lab's steps; a lab without steps has only the
// base.
func TestStepNamed(t *testing.T) {
	info := xdpLab("demo").info
	info.Steps = []labs.Step{{Summary: "b"}, {Name: "more", Summary: "m"}}
	for _, name := range []string{"", "base"} {
		if s, err := info.Step(name); err != nil || s.Name != "" || s.Title() != "base" {
			t.Errorf("Step(%q) = %+v, %v", name, s, err)
		}
	}
	if s, err := info.Step("more"); err != nil || s.Summary != "m" {
		t.Errorf("Step(more) = %+v, %v", s, err)
	}
	_, err := info.Step("less")
	if !errors.Is(err, labs.ErrUsage) || !strings.Contains(err.Error(), `demo has no step "less": its steps are base, more (`+"`xdplab steps demo`") {
		t.Errorf("Step(less) = %v", err)
	}
	info.Steps = nil
	if _, err := info.Step(""); err != nil {
		t.Errorf("a lab without steps has no base: %v", err)
	}
	if _, err := info.Step("more"); !errors.Is(err, labs.ErrUsage) || !strings.Contains(err.Error(), "demo has no steps") {
		t.Errorf("a lab without steps: %v", err)
	}
}

// TestCommandsValidated: lab commands need a name, a usage and either a
// Run or subcommands, and two labs cannot contribute one name.
func TestCommandsValidated(t *testing.T) {
	run := func(context.Context, *labs.Runner, []string, labs.Output) error { return nil }
	good := labs.Command{Name: "fw", Usage: "rules", Sub: []labs.Command{{Name: "list", Usage: "list", Run: run}}}
	r := labs.NewRegistry()
	if err := r.Register(commanderLab{xdpLab("one"), []labs.Command{good}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(commanderLab{xdpLab("two"), []labs.Command{good}}); err == nil || !strings.Contains(err.Error(), `command "fw" is another lab's already`) {
		t.Errorf("a second fw: %v", err)
	}
	for _, c := range []struct {
		cmd  labs.Command
		want string
	}{
		{labs.Command{Name: "x", Usage: "x"}, "either Run or subcommands"},
		{labs.Command{Name: "x", Usage: "x", Run: run, Sub: good.Sub}, "either Run or subcommands"},
		{labs.Command{Name: "x", Run: run}, "a name and a usage"},
		{labs.Command{Name: "x", Usage: "x", Sub: good.Sub, JSON: true}, "belong to its subcommands"},
		{labs.Command{Name: "x", Usage: "x", Sub: []labs.Command{{Name: "y", Usage: "y"}}}, "command x: command y: either Run"},
	} {
		err := labs.NewRegistry().Register(commanderLab{xdpLab("three"), []labs.Command{c.cmd}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("command %+v: %v, want %q", c.cmd, err, c.want)
		}
	}
}

// TestCourseNumbers: the number in list and in a guide's title is the
// lab's place in the registry, so reordering the registry renumbers both.
func TestCourseNumbers(t *testing.T) {
	for _, order := range [][]string{{"first", "second"}, {"second", "first"}} {
		r := labs.NewRegistry()
		for _, n := range order {
			if err := r.Register(xdpLab(n)); err != nil {
				t.Fatal(err)
			}
		}
		for i, n := range order {
			if got := r.Number(n); got != i+1 {
				t.Errorf("order %v: Number(%s) = %d, want %d", order, n, got, i+1)
			}
			g, err := r.Guide(n, labs.DefaultInstance)
			if want := "# Lab " + string(rune('1'+i)) + ": " + n + " — what it is\n"; err != nil || !strings.HasPrefix(g, want) {
				t.Errorf("order %v: Guide(%s) = %q, %v; want it to start with %q", order, n, g, err, want)
			}
		}
	}
	if _, err := labs.NewRegistry().Guide("nope", labs.DefaultInstance); !errors.Is(err, labs.ErrUnknownLab) {
		t.Errorf("guide of an unknown lab: %v", err)
	}
}

// TestGuideForInstance: `xdplab guide` spells the guide for the reader's
// instance, with the registry's lab names and the pin and state
// directories, and shows no directive of the guide test.
func TestGuideForInstance(t *testing.T) {
	r := labs.NewRegistry()
	lab := xdpLab("demo").with(func(i *labs.Info) {
		i.Guide = "# demo — what it is\n\nnetns xdplab-demo-host, pins in /sys/fs/bpf/xdplab/xdplab/demo/,\n" +
			"state in /run/xdplab/xdplab/demo.json.\n\n```sh\nsudo xdplab up demo  # xdplab-guide: exit 0\nxdplab init demo\n```\n"
	})
	if err := r.Register(lab); err != nil {
		t.Fatal(err)
	}
	got, err := r.Guide("demo", "alice")
	want := "# Lab 1: demo — what it is\n\nnetns alice-demo-host, pins in /sys/fs/bpf/xdplab/alice/demo/,\n" +
		"state in /run/xdplab/alice/demo.json.\n\n```sh\nsudo xdplab up demo --instance alice\nxdplab init demo\n```\n"
	if err != nil || got != want {
		t.Errorf("Guide(demo, alice) = %q, %v\nwant %q", got, err, want)
	}
	if kept := r.ForInstance(lab.info.Guide, "alice"); !strings.Contains(kept, "--instance alice  # xdplab-guide: exit 0") {
		t.Errorf("ForInstance dropped the directive the guide test reads:\n%s", kept)
	}
	if got, _ := r.Guide("demo", labs.DefaultInstance); !strings.Contains(got, "netns xdplab-demo-host") || !strings.Contains(got, "sudo xdplab up demo\n") {
		t.Errorf("the default instance's guide is not as written (without directives):\n%s", got)
	}
}

// flagValues is a command line's flags, as ParseOptions reads them.
type flagValues map[string][]string

func (f flagValues) IsSet(name string) bool { _, ok := f[name]; return ok }
func (f flagValues) String(name string) string {
	if v := f[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}
func (f flagValues) StringSlice(name string) []string { return f[name] }

// TestParseOptions: the registry owns what up's and run's flags mean: a
// lab's flag goes to that lab only, --obj to one lab only, --mode is empty
// unless given.
func TestParseOptions(t *testing.T) {
	reg := course.Registry()
	opts, err := reg.ParseOptions([]string{"basic_firewall"}, flagValues{"drop": {"10.0.0.0/8", "192.168.0.0/24"}, "mode": {"drv"}})
	if err != nil || opts.Mode != labs.ModeNative || !slices.Equal(opts.Values["drop"], []string{"10.0.0.0/8", "192.168.0.0/24"}) {
		t.Errorf("ParseOptions = %+v, %v", opts, err)
	}
	if opts, err := reg.ParseOptions([]string{"sockex1"}, flagValues{}); err != nil || opts.Mode != "" {
		t.Errorf("no --mode: %+v, %v; want no mode", opts, err)
	}
	for _, c := range []struct {
		names []string
		flags flagValues
		want  string
	}{
		{[]string{"packet_counter"}, flagValues{"drop": {"10.0.0.0/8"}}, "--drop is a flag of lab basic_firewall"},
		{[]string{"packet_counter", "xdp_dump"}, flagValues{"obj": {"x.o"}}, "--obj replaces one lab's program: name exactly one lab"},
		{[]string{"packet_counter", "xdp_dump"}, flagValues{"src": {"x.c"}}, "--src replaces one lab's program: name exactly one lab"},
		{[]string{"packet_counter"}, flagValues{"src": {"x.c"}, "obj": {"x.o"}}, "--src builds the object that --obj names: give one of them (--src x.c, or --obj x.o)"},
		{[]string{"packet_counter"}, flagValues{"mode": {"turbo"}}, `unknown mode "turbo"`},
		{[]string{"packet_counter", "xdp_dump"}, flagValues{"step": {"ipv6"}}, "--step chooses one lab's exercise: name exactly one lab"},
	} {
		_, err := reg.ParseOptions(c.names, c.flags)
		if !errors.Is(err, labs.ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseOptions(%v, %v) = %v, want a usage error with %q", c.names, c.flags, err, c.want)
		}
	}
}

// TestNextSteps: next-step lines are written once, for every instance;
// the placeholders become the instance's flag, namespace names and the
// topology's addresses.
func TestNextSteps(t *testing.T) {
	info := xdpLab("demo").info
	info.Next = []string{"sudo ip netns exec {ns:host} ping {addr:dut}", "sudo xdplab fw add {addr:sender}{instance}"}
	for inst, want := range map[string][]string{
		"xdplab": {"sudo ip netns exec xdplab-demo-host ping 192.168.0.2", "sudo xdplab fw add 192.168.0.3"},
		"class1": {"sudo ip netns exec class1-demo-host ping 192.168.0.2", "sudo xdplab fw add 192.168.0.3 --instance class1"},
	} {
		got := labs.NextSteps(info, inst)
		if !slices.Equal(got[:2], want) {
			t.Errorf("instance %s: %q, want %q first", inst, got, want)
		}
		if !strings.HasPrefix(got[2], "sudo xdplab check demo"+labs.InstanceFlag(inst)) {
			t.Errorf("instance %s: the common steps do not follow: %q", inst, got)
		}
	}
}

// TestLabTopologies: every lab's Info holds with its topology decoded
// (attach points, next steps), which Register leaves out so that no
// command start pays for it.
func TestLabTopologies(t *testing.T) {
	for _, l := range course.Registry().All() {
		if err := l.Info().Verify(); err != nil {
			t.Errorf("lab %s: %v", l.Info().Name, err)
		}
	}
}

func TestErrorf(t *testing.T) {
	inner := errors.New("inner")
	err := labs.Errorf(labs.ErrUsage, "bad thing: %w", inner)
	if err.Error() != "bad thing: inner" || !errors.Is(err, labs.ErrUsage) || !errors.Is(err, inner) {
		t.Errorf("Errorf = %q (is usage %v, is inner %v)", err, errors.Is(err, labs.ErrUsage), errors.Is(err, inner))
	}
}

func TestExpect(t *testing.T) {
	if r := labs.Expect("x", 3, uint64(3), "hint"); !r.Pass || r.Hint != "" {
		t.Errorf("equal values: %+v", r)
	}
	if r := labs.Expect("x", 3, 2, "hint"); r.Pass || r.Hint != "hint" {
		t.Errorf("different values: %+v", r)
	}
}
