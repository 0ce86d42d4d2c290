package labs

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// loLab is a lab whose base exercise runs on lo, in generic mode only, and
// whose step "wire" moves the program to node1/veth1, in both modes.
func loLab() Info {
	files := fstest.MapFS{"demo.c": {}, "exercise.md": {}}
	return Info{
		Name: "demo", Summary: "a lab", Source: "a text", Topology: "pair",
		Modes:  []Mode{ModeGeneric, ModeNative},
		Attach: []Attach{{Node: "node1", Iface: "lo", Hook: HookXDP, Program: "prog"}},
		Guide:  "# demo — what it is\n",
		Steps: []Step{
			{Summary: "on lo", Files: files, Modes: []Mode{ModeGeneric}},
			{Name: "wire", Summary: "on the veth", Files: files,
				Attach: []Attach{{Node: "node1", Iface: "veth1", Hook: HookXDP, Program: "prog"}}},
		},
	}
}

// TestForStep: a step's own attach points and modes replace the lab's;
// a step without them runs where and how the lab does.
func TestForStep(t *testing.T) {
	info := loLab()
	if err := info.Verify(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		step, where string
		modes       string
	}{
		{"", "node1/lo", "generic"},
		{"base", "node1/lo", "generic"},
		{"wire", "node1/veth1", "generic, native"},
	} {
		in := info.ForStep(c.step)
		if len(in.Attach) != 1 || in.Attach[0].Where() != c.where || modeList(in.Modes) != c.modes {
			t.Errorf("ForStep(%q): attach %v, modes %v; want %s, %s", c.step, in.Attach, in.Modes, c.where, c.modes)
		}
	}
	if in := info.ForStep("nope"); modeList(in.Modes) != "generic, native" {
		t.Errorf("ForStep of an unknown step changed the modes: %v", in.Modes)
	}
}

// TestStepModes: the mode a step runs in is the step's; a mode the lab has
// and the step has not is a usage error that says why (lo has no driver)
// and names the steps that run in it, with the command; run --all runs
// such a step in its own mode and says why.
func TestStepModes(t *testing.T) {
	info := loLab()
	for _, c := range []struct {
		asked Mode
		step  string
		want  Mode
	}{
		{"", "", ModeGeneric},
		{ModeGeneric, "", ModeGeneric},
		{"", "wire", ModeGeneric},
		{ModeNative, "wire", ModeNative},
	} {
		if got, err := info.modeFor(c.asked, c.step, "`xdplab up demo`", "i1", "up"); err != nil || got != c.want {
			t.Errorf("modeFor(%q, step %q) = %q, %v; want %q", c.asked, c.step, got, err, c.want)
		}
	}
	_, err := info.modeFor(ModeNative, "", "`xdplab up demo --instance i1`", "i1", "up")
	for _, want := range []string{
		"demo's base exercise does not run in native mode: its program runs on node1/lo, in generic mode only: the loopback device has no driver",
		`"Underlying driver does not support XDP in native mode"`,
		"run `xdplab up demo --instance i1`, or a step that runs in native mode (wire), as in `xdplab up demo --step wire --mode native --instance i1`",
	} {
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("native for the base exercise: %v\nwant it to say %q", err, want)
		}
	}
	note := modeNotApplied(info, "", ModeNative)
	if want := "--mode native does not apply: demo's base exercise: its program runs on node1/lo, in generic mode only"; !strings.HasPrefix(note, want) ||
		!strings.HasSuffix(note, "; it ran in generic mode") {
		t.Errorf("run --all --mode native note: %q, want it to start %q", note, want)
	}
	if note := modeNotApplied(info, "wire", "turbo"); note != "--mode turbo does not apply: demo runs in generic mode only; it ran in generic mode" {
		t.Errorf("note for a mode the lab has not: %q", note)
	}
}

// TestStepAttachValidated: a step's attach points and modes are checked as
// the lab's are, and its modes must be the lab's.
func TestStepAttachValidated(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Step)
		want   string
	}{
		{"a mode the lab has not", func(s *Step) { s.Modes = []Mode{"turbo"} }, `step wire: mode "turbo" is not one of the lab's modes`},
		{"a mode twice", func(s *Step) { s.Modes = []Mode{ModeNative, ModeNative} }, "step wire: modes [native native]: each one once"},
		{"no attach point", func(s *Step) { s.Attach = []Attach{} }, "step wire: no attach point"},
		{"a missing interface", func(s *Step) { s.Attach[0].Iface = "veth7" }, "step wire: attach point node1/veth7: no such interface in topology pair"},
		{"xdp without modes", func(s *Step) { s.Modes = []Mode{} }, "step wire: it attaches XDP programs but declares no modes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			info := loLab()
			s := &info.Steps[1]
			s.Attach = append([]Attach(nil), s.Attach...)
			c.change(s)
			if err := info.Verify(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Verify = %v, want %q", err, c.want)
			}
		})
	}
}
