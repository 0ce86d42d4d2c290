package labs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/topology"
)

// inventory lists what a finished up left in place: every XDP program
// attached in the lab's namespaces, every tracing program its pinned
// links attach, and every object pinned in its pin directory. It is recorded in the state file, so that check and status can
// later tell damage (a deleted pin, a detached program) from a program that
// misbehaves.
func inventory(dep *topology.Deployed, pinDir string) ([]state.Attachment, []state.Pin, error) {
	var attached []state.Attachment
	for _, n := range dep.Nodes {
		ns, err := dep.NS(n.Name)
		if err != nil {
			return nil, nil, err
		}
		links, err := ns.Netlink().LinkList()
		if err != nil {
			return nil, nil, fmt.Errorf("list interfaces of %s: %w", n.Name, err)
		}
		for _, l := range links {
			x := l.Attrs().Xdp
			if x == nil || x.ProgId == 0 {
				continue
			}
			attached = append(attached, state.Attachment{
				Node: n.Name, Iface: l.Attrs().Name, Program: programName(ebpf.ProgramID(x.ProgId)), ProgID: x.ProgId,
			})
		}
	}
	entries, err := os.ReadDir(pinDir)
	if err != nil {
		return nil, nil, fmt.Errorf("read pin directory: %w", err)
	}
	var pins []state.Pin
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		p, err := describePin(filepath.Join(pinDir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		pins = append(pins, p)
	}
	return append(attached, tracingAttachments(pinDir, pins)...), pins, nil
}

// describePin says what kind of object a pin holds and what it is called.
func describePin(path string) (state.Pin, error) {
	p := state.Pin{Name: filepath.Base(path)}
	if m, err := ebpf.LoadPinnedMap(path, &ebpf.LoadPinOptions{ReadOnly: true}); err == nil {
		defer m.Close()
		p.Kind = state.PinMap
		if info, err := m.Info(); err == nil {
			p.Object = info.Name
		}
		return p, nil
	}
	// Programs and links open read-write only: the kernel refuses read-only.
	if prog, err := ebpf.LoadPinnedProgram(path, nil); err == nil {
		defer prog.Close()
		p.Kind = state.PinProgram
		if info, err := prog.Info(); err == nil {
			p.Object = info.Name
		}
		return p, nil
	}
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		return p, fmt.Errorf("pin %s holds no map, program or link: %w", path, err)
	}
	defer l.Close()
	p.Kind = state.PinLink
	if info, err := l.Info(); err == nil {
		p.ProgID = uint32(info.Program)
		p.Object = programName(info.Program)
	}
	return p, nil
}

func programName(id ebpf.ProgramID) string {
	prog, err := ebpf.NewProgramFromID(id)
	if err != nil {
		return ""
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		return ""
	}
	return info.Name
}

// diagnose compares a lab with what its up left in place (rec.Attached,
// rec.Pins): a program no longer attached, an interface or a pin that is
// gone. Each problem is damage done to the lab since up, never a fault of
// the learner's program, and the fix is to build the lab again.
func (r *Runner) diagnose(rec state.Lab, dep *topology.Deployed) []Problem {
	fix := rebuildFix(r.Instance, rec)
	gone := map[string]bool{}
	for _, p := range rec.Pins {
		if _, err := os.Lstat(filepath.Join(rec.PinDir, p.Name)); errors.Is(err, os.ErrNotExist) {
			gone[p.Name] = true
		}
	}
	var problems []Problem
	explained := map[string]bool{} // link pins a detached program's problem names
	for _, a := range rec.Attached {
		if a.Hook != "" {
			if p, pin, ok := tracingProblem(rec, a, gone, fix); ok {
				problems = append(problems, p)
				explained[pin] = true
			}
			continue
		}
		where := a.Where()
		ns, err := dep.NS(a.Node)
		if err != nil {
			problems = append(problems, Problem{What: fmt.Sprintf("%s: %v", where, err), Fix: fix})
			continue
		}
		l, err := ns.Netlink().LinkByName(a.Iface)
		if err != nil {
			problems = append(problems, Problem{What: fmt.Sprintf("%s is gone (%v); %s was attached to it", where, err, a.Program), Fix: fix})
			continue
		}
		if x := l.Attrs().Xdp; x != nil && x.ProgId != 0 {
			continue // this program or one that stands in for it (a capture's front program)
		}
		why := "its link was detached"
		for _, p := range rec.Pins {
			if p.Kind == state.PinLink && p.ProgID == a.ProgID && gone[p.Name] {
				why = fmt.Sprintf("its link pin %s is gone", filepath.Join(rec.PinDir, p.Name))
				explained[p.Name] = true
			}
		}
		problems = append(problems, Problem{
			What: fmt.Sprintf("%s: no XDP program attached; expected %s (%s)", where, a.Program, why),
			Fix:  fix,
		})
	}
	for _, p := range rec.Pins {
		if !gone[p.Name] || explained[p.Name] {
			continue
		}
		what := p.Kind
		if p.Object != "" {
			what += " " + p.Object
		}
		problems = append(problems, Problem{
			What: fmt.Sprintf("pin %s (%s) is gone", filepath.Join(rec.PinDir, p.Name), what),
			Fix:  fix,
		})
	}
	return problems
}

// rebuildFix is the fix for damage done to a lab since up: build it again,
// with the options it was built with.
func rebuildFix(instance string, rec state.Lab) string {
	return fmt.Sprintf("run %s and %s again", Cmd(instance, "down "+rec.Lab), Cmd(instance, "up "+rec.Lab+upFlags(rec)))
}

// RebuildFix is the fix for damage done to the lab since up (a pin
// deleted, a program detached): take it down and bring it up again with the
// same options.
func (e *Env) RebuildFix() string {
	return rebuildFix(e.Instance, state.Lab{Lab: e.Lab, Mode: string(e.Options.Mode), Obj: e.Options.Obj, Src: e.Options.Src, Step: e.Options.Step, Values: e.Options.Values, Bare: e.Options.Bare})
}

// cause turns problems into one report error: what is wrong, then the fix.
func cause(problems []Problem) string {
	var parts []string
	for _, p := range problems {
		parts = append(parts, p.What)
	}
	return strings.Join(parts, "; ") + ": " + problems[0].Fix
}

// upFlags spells the options a lab was brought up with, so a suggested `up`
// builds the same lab again.
func upFlags(rec state.Lab) string {
	var b strings.Builder
	// A bare lab runs in the mode the learner attached in: up takes none.
	if rec.Mode != "" && rec.Mode != string(ModeGeneric) && !rec.Bare {
		b.WriteString(" --mode " + rec.Mode)
	}
	// A lab up from --src is built again from it: the object may be stale.
	if rec.Src != "" {
		b.WriteString(" --src " + shellQuote(rec.Src))
	} else if rec.Obj != "" {
		b.WriteString(" --obj " + shellQuote(rec.Obj))
	}
	if rec.Step != "" {
		b.WriteString(" --step " + rec.Step)
	}
	if rec.Bare {
		b.WriteString(" --bare")
	}
	names := make([]string, 0, len(rec.Values))
	for k := range rec.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range rec.Values[k] {
			b.WriteString(" --" + k + " " + shellQuote(v))
		}
	}
	return b.String()
}

// shellQuote leaves plain words alone and single-quotes the rest, so a
// suggested command can be pasted into a shell as it is.
func shellQuote(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-./:=@%+,", c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
