package labs

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/topology"
)

// Attached is what a bare lab (`up --bare`) finds at its attach points:
// the programs the learner loaded and attached their own way. Checks reach
// their maps through it by name (grade.OpenMap), where a lab that `up`
// loaded has them pinned.
type Attached struct {
	Points []AttachedPoint

	instance, lab string
}

// AttachedPoint is one attach point of a bare lab and what runs there.
type AttachedPoint struct {
	Where string `json:"where"`
	Hook  string `json:"hook"`
	// Program is what runs there; nil when nothing does.
	Program *attached.Program `json:"program,omitempty"`
	// Others are further socket filters of the name that run in the node
	// (another loader of the learner's still running); the check grades
	// Program, the newest.
	Others []attached.Program `json:"others,omitempty"`
	// Missing are the maps the lab reads that the program does not have.
	Missing []string `json:"missing,omitempty"`
	// Error says why the place could not be examined.
	Error string `json:"error,omitempty"`

	attach Attach
}

// findAttached looks at every attach point of a lab whose programs the
// learner attaches. Points that only a lab's own up uses (Attach.Mode:
// redirect's xdp_pass on the veth peers) are the learner's business in a
// bare lab, and not looked at.
func findAttached(info Info, dep *topology.Deployed) *Attached {
	a := &Attached{instance: dep.Instance, lab: info.Name}
	for _, at := range info.Attach {
		if at.Mode != "" {
			continue
		}
		pt := AttachedPoint{Where: at.Where(), Hook: at.Hook, attach: at}
		if err := pt.find(dep); err != nil {
			pt.Error = err.Error()
		}
		a.Points = append(a.Points, pt)
	}
	return a
}

func (pt *AttachedPoint) find(dep *topology.Deployed) error {
	a := pt.attach
	ns, err := dep.NS(a.Node)
	if err != nil {
		return err
	}
	switch a.Hook {
	case HookXDP:
		p, ok, err := attached.XDP(ns, a.Iface)
		if err != nil || !ok {
			return err
		}
		pt.Program = &p
	case HookSocket:
		found, err := attached.SocketFilters(ns, a.Iface, a.Program)
		if err != nil || len(found) == 0 {
			return err
		}
		pt.Program, pt.Others = &found[0], found[1:]
	}
	for _, m := range a.Maps {
		if !pt.Program.HasMap(m) {
			pt.Missing = append(pt.Missing, m)
		}
	}
	return nil
}

// findBare fills a bare lab's env with what runs at its attach points,
// and the mode the learner attached in.
func findBare(env *Env, info Info) {
	env.Attached = findAttached(info, env.Topo)
	env.Options.Mode = env.Attached.mode()
	for _, pt := range env.Attached.Points {
		if p := pt.Program; p != nil {
			env.Origin = provenance.Attached(uint32(p.ID), p.Tag, p.Name)
			break
		}
	}
}

// bareOptions refuses the options of up that choose or set up the lab's
// program: a bare lab loads none. again is `up <lab> --bare` alone.
func bareOptions(opts Options, again string) error {
	var given []string
	if opts.Mode != "" {
		given = append(given, "--mode")
	}
	if opts.Obj != "" {
		given = append(given, "--obj")
	}
	if opts.Src != "" {
		given = append(given, "--src")
	}
	if opts.Step != "" {
		// A step's check expects that step's program; grading a learner's
		// own loader is the base exercise's for now.
		given = append(given, "--step")
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Values)) {
		given = append(given, "--"+k)
	}
	if len(given) == 0 {
		return nil
	}
	return Errorf(ErrUsage, "--bare builds the topology only and loads nothing, so %s does not apply: your own loader loads the program, picks the mode (xdpgeneric or xdp with ip, the XDP flags in a loader) and fills the maps; run %s",
		strings.Join(given, " and "), again)
}

// mode is the mode of the first XDP program found: a bare lab runs in
// whatever mode the learner attached it.
func (a *Attached) mode() Mode {
	for _, pt := range a.Points {
		if pt.Hook == HookXDP && pt.Program != nil {
			m, _ := ParseMode(pt.Program.Mode)
			return m
		}
	}
	return ""
}

// Map opens the map called name of the programs found, for a check or a
// view that reads it. A map that none of them has is an error that wraps
// os.ErrNotExist, as a missing pin is.
func (a *Attached) Map(name string) (*ebpf.Map, error) {
	var have []string
	for _, pt := range a.Points {
		p := pt.Program
		if p == nil {
			continue
		}
		if !p.HasMap(name) {
			have = append(have, fmt.Sprintf("%s at %s has %s", p, pt.Where, mapList(p.Maps)))
			continue
		}
		m, err := attached.Map(p.ID, name)
		if errors.Is(err, attached.ErrGone) {
			return nil, Errorf(ErrEnvironment, "map %s: your program %s at %s is gone (%w): it was detached while xdplab was using it; attach it again and run the command again",
				name, p, pt.Where, err)
		}
		if err != nil {
			return nil, Errorf(ErrEnvironment, "map %s of %s at %s: %w", name, p, pt.Where, err)
		}
		return m, nil
	}
	if len(have) == 0 {
		return nil, Errorf(ErrEnvironment, "map %s: nothing is attached in bare lab %s: attach your program first (%s shows where and how), then run the command again: %w",
			name, a.lab, Cmd(a.instance, "check "+a.lab), os.ErrNotExist)
	}
	return nil, Errorf(ErrEnvironment, "map %s: no program attached in this bare lab has one (%s): %w", name, strings.Join(have, "; "), os.ErrNotExist)
}

func mapList(names []string) string {
	switch len(names) {
	case 0:
		return "no maps"
	case 1:
		return "map " + names[0]
	}
	return "maps " + strings.Join(names, ", ")
}

// results are the first expectations of a bare lab's check: at every
// attach point, a program with the maps the lab reads. ok is false when
// one is missing: the lab's own expectations would then only repeat that.
// An error means a place could not be examined.
func (a *Attached) results(instance, lab string) (res []Result, ok bool, err error) {
	ok = true
	for _, pt := range a.Points {
		if pt.Error != "" {
			return res, false, Errorf(ErrEnvironment, "look for your program at %s: %s", pt.Where, pt.Error)
		}
		at := pt.attach
		name := fmt.Sprintf("%s is attached at %s", hookNouns[at.Hook], pt.Where)
		want := expectedAt(at)
		switch p := pt.Program; {
		case p == nil:
			res = append(res, Assert(name, false, want, "nothing is attached", nothingAttachedHint(instance, lab, at)))
			ok = false
		case len(pt.Missing) > 0:
			res = append(res, Assert(name, false, want, fmt.Sprintf("%s with %s", p, mapList(p.Maps)),
				fmt.Sprintf("the program at %s has no map named %s: the check reads it by that name, so declare it with that name in SEC(\".maps\")",
					pt.Where, strings.Join(pt.Missing, " or "))))
			ok = false
		default:
			res = append(res, Assert(name, true, want, fmt.Sprintf("%s with %s", p, mapList(p.Maps)), ""))
		}
	}
	return res, ok, nil
}

// expectedAt says what a bare lab expects at an attach point: "an XDP
// program with map protocols (the tutorial's packet_count)".
func expectedAt(a Attach) string {
	with := ""
	if len(a.Maps) > 0 {
		with = " with " + mapList(a.Maps)
	}
	if a.Hook == HookSocket {
		// The name is how the check finds a socket filter.
		return fmt.Sprintf("a socket filter named %s%s, on a packet socket bound to %s, in a running process", a.Program, with, a.Iface)
	}
	return fmt.Sprintf("%s%s (the lab's is %s)", hookNouns[a.Hook], with, a.Program)
}

// attachCommands are ways to attach a program at a bare lab's attach
// point, inside its node, as the tutorials do.
func attachCommands(instance, lab string, a Attach) []string {
	exec := fmt.Sprintf("sudo xdplab exec%s %s -- ./your-loader %s", InstanceFlag(instance), a.Node, a.Iface)
	if a.Hook == HookSocket {
		return []string{exec + "   # opens a packet socket on " + a.Iface + ", attaches " + a.Program + " (SO_ATTACH_BPF), keeps running"}
	}
	ns := topology.NamespaceName(instance, lab, a.Node)
	return []string{
		exec + "   # your loader (go-xdp-examples' main.go, a C loader), run inside " + a.Node,
		fmt.Sprintf("sudo ip -n %s link set dev %s xdpgeneric obj %s.o sec xdp   # or iproute2; `xdpgeneric off` detaches", ns, a.Iface, lab),
	}
}

// nothingAttachedHint is the hint of an attach point where nothing runs.
func nothingAttachedHint(instance, lab string, a Attach) string {
	cmds := attachCommands(instance, lab, a)
	for i, c := range cmds {
		c, _, _ = strings.Cut(c, "   #")
		cmds[i] = "`" + c + "`"
	}
	again := Cmd(instance, "check "+lab)
	if a.Hook == HookSocket {
		return fmt.Sprintf("no process runs a socket filter named %s on a packet socket in %s: start your loader inside %s and leave it running while you check, %s (it opens a packet socket on %s and attaches %s with SO_ATTACH_BPF); then run %s again",
			a.Program, a.Node, a.Node, cmds[0], a.Iface, a.Program, again)
	}
	return fmt.Sprintf("nothing is attached to %s: this lab is bare, so attach your program from inside %s, with your own loader, %s, or with iproute2, %s; then run %s again",
		a.Where(), a.Node, cmds[0], cmds[1], again)
}

// writeBareUp is what `up --bare` prints after the picture: where to
// attach, what the check looks for there, and how.
func writeBareUp(w io.Writer, info Info, env *Env, qualify func(string) string) {
	fmt.Fprintln(w, "\nattach your own program inside the node; check grades what runs there:")
	for _, a := range info.Attach {
		if a.Mode != "" {
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n", a.Where(), expectedAt(a))
		for _, c := range attachCommands(env.Instance, info.Name, a) {
			fmt.Fprintf(w, "    %s\n", qualify(c))
		}
	}
}

// bareAnnotations mark the attach points of a bare lab in its picture:
// nothing runs there yet.
func bareAnnotations(info Info) topology.Annotation {
	notes := topology.Annotation{}
	for _, a := range info.Attach {
		if a.Mode == "" {
			notes[a.Where()] = "attach " + hookNouns[a.Hook] + " here"
		}
	}
	return notes
}

// bareHook is the error of `capture <lab>` on a bare lab: xdplab pinned
// no hook there, the hook is a map of the learner's program. xdpcap's way
// is that the loader pins it; the error says how, with the map's id.
func bareHook(a *Attached, lab, name string) error {
	m, err := a.Map(name)
	if err != nil {
		return err
	}
	defer m.Close()
	id := "ID"
	if info, err := m.Info(); err == nil {
		if n, ok := info.ID(); ok {
			id = fmt.Sprint(n)
		}
	}
	pin := "/sys/fs/bpf/" + name
	return Errorf(ErrUsage, "%s is bare, so xdplab pinned no hook: the hook is your program's map %s (id %s); pin it as xdpcap's loaders do (ebpf.Map.Pin, or `sudo bpftool map pin id %s %s`) and capture from the pin, `sudo xdplab capture %s`",
		lab, name, id, id, pin, pin)
}

// writeAttached prints, for status, what runs at a bare lab's attach
// points.
func writeAttached(w io.Writer, points []AttachedPoint) {
	for _, pt := range points {
		switch p := pt.Program; {
		case pt.Error != "":
			fmt.Fprintf(w, "  attached at %s: cannot tell (%s)\n", pt.Where, pt.Error)
		case p == nil:
			fmt.Fprintf(w, "  attached at %s: nothing; check expects %s\n", pt.Where, expectedAt(pt.attach))
		default:
			fmt.Fprintf(w, "  attached at %s: %s %s tag %s, %s\n", pt.Where, pt.Hook, p, p.Tag, mapList(p.Maps))
			for _, o := range pt.Others {
				fmt.Fprintf(w, "    also running: %s %s (not graded: the newest is)\n", pt.Hook, o)
			}
		}
	}
}

// mapStatus shows the maps of the programs found, with their entries, as
// status shows a lab's pinned maps.
func (a *Attached) mapStatus(view mapView) []MapStatus {
	var out []MapStatus
	var seen []string
	for _, pt := range a.Points {
		if pt.Program == nil {
			continue
		}
		for _, name := range pt.attach.Maps {
			if slices.Contains(seen, name) || !pt.Program.HasMap(name) {
				continue
			}
			seen = append(seen, name)
			if m, err := attached.Map(pt.Program.ID, name); err == nil {
				out = append(out, view.dump(name, m))
				m.Close()
			}
		}
	}
	return out
}
