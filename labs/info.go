package labs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/labs/guide"
	"github.com/xdplab/xdplab/topology"
)

// Info is what a lab is, as data: what list, up, topo, status, guide and
// the registry read without running any of the lab's code.
type Info struct {
	// Name is the lab's identifier on the command line (packet_counter).
	Name string
	// Summary is one line for `xdplab list`.
	Summary string
	// Source names the text the lab follows ("go-xdp-examples").
	Source string
	// Topology names the network the lab runs in: one of the embedded
	// topology files ("pair" is topology/shapes/pair.yaml). It is a name,
	// decoded only by the commands that need it, because every command
	// builds the registry when it starts.
	Topology string
	// Modes are the XDP attach modes the lab supports, the default first.
	// A lab without an XDP program has none: --mode does not apply to it.
	Modes []Mode
	// Flags are the lab's own flags for `up` and `run` (e.g. --drop CIDR).
	Flags []Flag
	// Attach says where the lab's programs run: topology pictures label
	// these interfaces, and --mode is refused for a lab with no XDP among
	// them.
	Attach []Attach
	// Next are command lines `up` suggests trying, after which it adds
	// check, watch, status, guide and down. They may hold {instance} (the
	// " --instance NAME" a pasted command needs, or nothing for the
	// default instance), {ns:NODE} (a node's namespace name) and
	// {addr:ROLE} (the address of a topology role), so no line restates
	// the topology.
	Next []string
	// Keys say how status and watch write the keys of a map, by map name;
	// a map not listed here has its keys written as numbers (or hex).
	Keys map[string]KeyFormat
	// Guide is the lab's markdown guide, labs/<lab>/guide.md embedded by
	// the lab's package. Its first line is "# <name> — <title>": the course
	// number is the registry's to add.
	Guide string
	// Guides holds the guide's translations beside it, guide.<lang>.md
	// (guide.ja.md, guide.zh.md: labs/guide.Languages), embedded by the
	// lab's package. Each starts with a line that records the English guide
	// it translates (guide.Header), then its title, as Guide's. Nil for a
	// lab not translated yet.
	Guides fs.FS
	// Steps are the lab's exercises, the base exercise (Name "") first,
	// then the follow-up steps in the order a learner takes them. A lab
	// without exercises has none.
	Steps []Step
	// Object is the lab's embedded reference program for its base
	// exercise, the BPF ELF that up loads without --obj (bpf2go's bytes):
	// reports give its sha256, so two xdplab builds with different
	// programs are told apart. A step carries its own.
	Object []byte
}

// Step is one exercise of a lab: its base exercise or a follow-up step that
// changes what the program must do. `up --step` loads the step's program,
// `check` grades the step, `init --step` writes its workspace.
type Step struct {
	// Name is the step's identifier on the command line (drop_icmp); ""
	// is the base exercise, which the command line also calls "base".
	Name string
	// Summary is one line for `xdplab steps`.
	Summary string
	// Files holds the step's files at its root: <lab>.c, the solution with
	// xdplab:todo markers (see labs/exercise), and exercise.md, the text
	// of the exercise.
	Files fs.FS
	// Object is the step's embedded reference program (nil for the base
	// exercise, whose object is Info.Object).
	Object []byte
	// Attach, when set, is where the step's programs run instead of the
	// lab's Attach: a step may move the program to another interface
	// (icmp_drop's veth1 step, from lo to node1/veth1).
	Attach []Attach
	// Modes, when set, are the modes the step runs in instead of the lab's
	// Modes, the default first, each one of the lab's: a step whose
	// program runs on lo, which no driver serves, runs in generic mode
	// only.
	Modes []Mode
}

// BaseStep is how the command line names the base exercise.
const BaseStep = "base"

// Title is the step's name as the command line writes it: "base" for the
// base exercise.
func (s Step) Title() string {
	if s.Name == "" {
		return BaseStep
	}
	return s.Name
}

// ExerciseFile is the exercise text of every step, beside <lab>.c.
const ExerciseFile = "exercise.md"

// Program is the name of a step's C file: <lab>.c.
func (i Info) Program() string { return i.Name + ".c" }

// Step finds a step by the name the command line gives it: "" or "base"
// for the base exercise. A name the lab has not is a usage error that
// lists the lab's steps; a lab without exercises has only the base.
func (i Info) Step(name string) (Step, error) {
	if name == BaseStep {
		name = ""
	}
	for _, s := range i.Steps {
		if s.Name == name {
			return s, nil
		}
	}
	if name == "" {
		return Step{}, nil
	}
	if len(i.Steps) == 0 {
		return Step{}, Errorf(ErrUsage, "%s has no steps: it has only its base exercise", i.Name)
	}
	return Step{}, Errorf(ErrUsage, "%s has no step %q: its steps are %s (`xdplab steps %s` describes them)",
		i.Name, name, strings.Join(i.StepNames(), ", "), i.Name)
}

// StepNames are the lab's steps as the command line names them.
func (i Info) StepNames() []string {
	names := make([]string, len(i.Steps))
	for n, s := range i.Steps {
		names[n] = s.Title()
	}
	return names
}

// ReferenceObject is the embedded object that up loads for a step ("" is the
// base exercise) without --obj; nil when the lab embeds none for it.
func (i Info) ReferenceObject(step string) []byte {
	if step == "" || step == BaseStep {
		return i.Object
	}
	for _, s := range i.Steps {
		if s.Name == step {
			return s.Object
		}
	}
	return nil
}

// ForStep is the lab as the step name runs ("" or "base" for the base
// exercise): its Attach and Modes are the step's own where the step has
// them. A name the lab has not leaves the Info as it is.
func (i Info) ForStep(name string) Info {
	s, err := i.Step(name)
	if err != nil {
		return i
	}
	if s.Attach != nil {
		i.Attach = s.Attach
	}
	if s.Modes != nil {
		i.Modes = s.Modes
	}
	return i
}

// Flag is a lab-specific command-line option.
type Flag struct {
	Name       string
	Usage      string
	Repeatable bool
}

// Hooks a program can be attached to.
const (
	HookXDP    = "xdp"
	HookSocket = "socket" // a socket filter, on a packet socket bound to Iface
	// HookTracepoint is a kernel tracepoint, Target "group/name". Like the
	// kprobe hooks, it belongs to the whole machine, not to a node: its
	// program runs for every task, whoever's.
	HookTracepoint = "tracepoint"
	// HookKprobe and HookKretprobe are the entry and the return of the
	// kernel function Target, where the kernel has kprobes.
	HookKprobe    = "kprobe"
	HookKretprobe = "kretprobe"
)

// tracingHooks are the hooks of the whole machine, which have a Target
// instead of a node and interface.
var tracingHooks = []string{HookTracepoint, HookKprobe, HookKretprobe}

// VariantKprobe names the kprobe way of writing a tracing lab's program,
// the bcc texts' way, for kernels that have kprobes.
const VariantKprobe = "kprobe"

// Attach is one place where a lab's program runs.
type Attach struct {
	// Node and Iface are where an XDP program or a socket filter runs;
	// a tracing hook has neither.
	Node, Iface string
	// Hook is HookXDP, HookSocket or a tracing hook (HookTracepoint,
	// HookKprobe, HookKretprobe).
	Hook string
	// Target is where a tracing hook attaches: the tracepoint
	// ("syscalls/sys_enter_clone") or the kernel function.
	Target string
	// Variant, when set, names another way to write the lab's program
	// (VariantKprobe) that up accepts where the kernel allows it: doctor
	// says which variants the machine runs. The lab's own program is
	// the variant "".
	Variant string
	// Program is the program's name (the tutorial's, or the lab's own when
	// a learner's object may name it freely).
	Program string
	// Mode, when set, is the only mode in which the program is attached
	// there (redirect's xdp_pass on the veth peers, native mode only).
	Mode Mode
	// Note is added to the label in pictures ("-> xdpcap_hook").
	Note string
	// Maps are the maps the lab reads from the program there, by name: a
	// bare lab's check finds them through the program the learner
	// attached, and fails when one is missing.
	Maps []string
}

// Tracing reports whether the attach point is a tracing hook: the whole
// machine's, in no node.
func (a Attach) Tracing() bool { return slices.Contains(tracingHooks, a.Hook) }

// Where is the attach point as node/iface, or a tracing hook and its
// target ("tracepoint syscalls/sys_enter_clone").
func (a Attach) Where() string {
	if a.Tracing() {
		return a.Hook + " " + a.Target
	}
	return a.Node + "/" + a.Iface
}

// Label is how pictures mark the interface: "xdp packet_count".
func (a Attach) Label() string {
	s := a.Hook + " " + a.Program
	if a.Tracing() {
		s = a.Program + " on " + a.Where()
	}
	if a.Note != "" {
		s += " " + a.Note
	}
	if a.Mode != "" {
		s += " (" + string(a.Mode) + " mode)"
	}
	return s
}

// Annotations label the lab's attach points in topology pictures.
func (i Info) Annotations() topology.Annotation {
	notes := topology.Annotation{}
	for _, a := range i.Attach {
		if a.Tracing() {
			continue // on no interface
		}
		if notes[a.Where()] == "" {
			notes[a.Where()] = a.Label()
		}
	}
	return notes
}

// XDP reports whether the lab attaches an XDP program anywhere.
func (i Info) XDP() bool {
	return slices.ContainsFunc(i.Attach, func(a Attach) bool { return a.Hook == HookXDP })
}

// Tracing reports whether the lab's programs run on tracing hooks: they
// see the whole machine, and need tracefs.
func (i Info) Tracing() bool {
	return slices.ContainsFunc(i.Attach, Attach.Tracing)
}

// reservedFlags are the flags of up and run themselves: a lab flag of the
// same name would never reach the lab.
var reservedFlags = []string{"instance", "mode", "obj", "step", "json", "junit", "all", "help"}

// Spec is the lab's topology, decoded from its embedded file on first use.
func (i Info) Spec() topology.Spec { return topology.MustEmbedded(i.Topology) }

// validate checks an Info before the lab joins a registry: every field a
// command reads is there. It runs at every start, so it decodes nothing;
// Verify checks the rest.
func (i Info) validate() error { return i.check(false) }

// Verify is validate plus what needs the topology decoded: the attach
// points and next-step placeholders exist in it. The registry's tests run
// it for every lab.
func (i Info) Verify() error { return i.check(true) }

func (i Info) check(deep bool) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := topology.ValidateLabName(i.Name); err != nil {
		return err
	}
	if i.Summary == "" {
		bad("no summary (the line `xdplab list` shows)")
	}
	if i.Source == "" {
		bad("no source (the text the lab follows)")
	}
	var spec topology.Spec
	topoErr := errors.New("not decoded")
	if !slices.Contains(topology.EmbeddedNames(), i.Topology) {
		bad("topology %q: no such embedded topology (have %s)", i.Topology, strings.Join(topology.EmbeddedNames(), ", "))
	} else if deep {
		if spec, topoErr = topology.Embedded(i.Topology); topoErr != nil {
			errs = append(errs, topoErr)
		}
	}
	for _, m := range i.Modes {
		if m != ModeGeneric && m != ModeNative {
			bad("mode %q: want %s or %s", m, ModeGeneric, ModeNative)
		}
	}
	if len(i.Modes) != len(slices.Compact(slices.Clone(i.Modes))) {
		bad("modes %v: each one once", i.Modes)
	}
	if len(i.Attach) == 0 {
		bad("no attach point (where do its programs run?)")
	}
	// checkAttach checks the attach points and modes of the lab, or of one
	// of its steps (of is "" or "step NAME: ").
	checkAttach := func(of string, in Info) {
		for _, a := range in.Attach {
			switch {
			case a.Tracing():
				if a.Target == "" || a.Node != "" || a.Iface != "" || a.Mode != "" {
					bad("%sattach point %s: a %s hook has a target and no node, interface or mode", of, a.Where(), a.Hook)
				}
			case a.Hook != HookXDP && a.Hook != HookSocket:
				bad("%sattach point %s: hook %q: want %s, %s or %s", of, a.Where(), a.Hook, HookXDP, HookSocket, strings.Join(tracingHooks, ", "))
			case a.Target != "" || a.Variant != "":
				bad("%sattach point %s: only tracing hooks have a target or a variant", of, a.Where())
			}
			if a.Program == "" {
				bad("%sattach point %s: no program", of, a.Where())
			}
			if a.Mode != "" && !slices.Contains(in.Modes, a.Mode) {
				bad("%sattach point %s: mode %q is not one of the modes %v", of, a.Where(), a.Mode, in.Modes)
			}
			if !a.Tracing() && topoErr == nil && !hasIface(spec, a.Node, a.Iface) {
				bad("%sattach point %s: no such interface in topology %s", of, a.Where(), spec.Name)
			}
		}
		switch {
		case in.XDP() && len(in.Modes) == 0:
			bad("%sit attaches XDP programs but declares no modes (want generic, native or both)", of)
		case !in.XDP() && len(in.Modes) > 0:
			bad("%smodes %v, but no XDP attach point: --mode applies to XDP programs only", of, in.Modes)
		}
	}
	checkAttach("", i)
	for _, s := range i.Steps {
		if s.Attach == nil && s.Modes == nil {
			continue
		}
		of := "step " + s.Title() + ": "
		if s.Attach != nil && len(s.Attach) == 0 {
			bad("%sno attach point (leave Attach nil for the lab's)", of)
		}
		for _, m := range s.Modes {
			if !slices.Contains(i.Modes, m) {
				bad("%smode %q is not one of the lab's modes %v", of, m, i.Modes)
			}
		}
		if len(s.Modes) != len(slices.Compact(slices.Clone(s.Modes))) {
			bad("%smodes %v: each one once", of, s.Modes)
		}
		checkAttach(of, i.ForStep(s.Name))
	}
	flags := map[string]bool{}
	for _, f := range i.Flags {
		switch {
		case f.Name == "" || f.Usage == "":
			bad("flag %q: a name and a usage, please", f.Name)
		case slices.Contains(reservedFlags, f.Name):
			bad("flag --%s: up and run have it already", f.Name)
		case flags[f.Name]:
			bad("flag --%s declared twice", f.Name)
		}
		flags[f.Name] = true
	}
	for _, line := range i.Next {
		if topoErr == nil {
			if _, err := expand(line, "xdplab", i.Name, spec); err != nil {
				bad("next step %q: %v", line, err)
			}
		}
	}
	for name, f := range i.Keys {
		if f == nil {
			bad("map %s: no key format", name)
		}
	}
	errs = append(errs, i.checkSteps(deep)...)
	errs = append(errs, i.checkTranslations()...)
	if title, _, _ := strings.Cut(i.Guide, "\n"); !strings.HasPrefix(title, "# "+i.Name+" — ") || len(title) <= len("# "+i.Name+" — ") {
		bad("guide: the first line must be %q, is %q", "# "+i.Name+" — <title>", title)
	}
	if len(errs) > 0 {
		return fmt.Errorf("lab %s: %w", i.Name, errors.Join(errs...))
	}
	return nil
}

// Translation is the lab's guide in a language (a guide.Languages code),
// without the line that records its English source: it starts with its
// title. English is Guide; a language the lab has no translation in is
// ok false.
func (i Info) Translation(code string) (text string, ok bool, err error) {
	if code == guide.English {
		return i.Guide, true, nil
	}
	if i.Guides == nil {
		return "", false, nil
	}
	b, err := fs.ReadFile(i.Guides, guide.TranslationFile(code))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%s guide in %s: %w", i.Name, code, err)
	}
	tr, err := guide.ParseTranslation(string(b))
	if err != nil {
		return "", false, fmt.Errorf("%s guide in %s: %w", i.Name, code, err)
	}
	return tr.Text, true, nil
}

// checkTranslations checks that every file of Guides is a translation into
// a language of the guides, its title the lab's, as Guide's.
func (i Info) checkTranslations() []error {
	if i.Guides == nil {
		return nil
	}
	var errs []error
	files, err := fs.Glob(i.Guides, "*")
	if err != nil {
		return []error{fmt.Errorf("guides: %w", err)}
	}
	for _, f := range files {
		code, ok := strings.CutPrefix(f, "guide.")
		code, ok2 := strings.CutSuffix(code, ".md")
		if _, known := guide.LookupLanguage(code); !ok || !ok2 || !known || code == guide.English {
			errs = append(errs, fmt.Errorf("guides: %s is not guide.<lang>.md with lang one of %s", f, strings.Join(guide.LanguageCodes()[1:], ", ")))
			continue
		}
		text, _, err := i.Translation(code)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if title, _, _ := strings.Cut(text, "\n"); !strings.HasPrefix(title, "# "+i.Name+" — ") || len(title) <= len("# "+i.Name+" — ") {
			errs = append(errs, fmt.Errorf("guides: %s: the title, after the source line, must be %q, is %q", f, "# "+i.Name+" — <title>", title))
		}
	}
	return errs
}

// checkSteps checks the lab's exercises: the base first, names unique and
// valid, a summary each, and, when deep, the files every step has.
func (i Info) checkSteps(deep bool) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	for n, s := range i.Steps {
		switch {
		case n == 0 && s.Name != "":
			bad("step %q comes first: the base exercise (Name \"\") must", s.Name)
		case n > 0 && s.Name == "":
			bad("step %d has no name: only the first, the base exercise, goes without", n+1)
		case s.Name == BaseStep:
			bad("step %q: that is the base exercise's name on the command line", s.Name)
		case s.Name != "" && topology.ValidateLabName(s.Name) != nil:
			bad("step %q: a step name is lowercase letters, digits and _", s.Name)
		case seen[s.Name]:
			bad("step %q declared twice", s.Title())
		}
		seen[s.Name] = true
		if s.Summary == "" {
			bad("step %s: no summary (the line `xdplab steps` shows)", s.Title())
		}
		if s.Files == nil {
			bad("step %s: no files (%s, %s)", s.Title(), i.Program(), ExerciseFile)
			continue
		}
		if deep {
			for _, f := range []string{i.Program(), ExerciseFile} {
				if _, err := fs.Stat(s.Files, f); err != nil {
					bad("step %s: its files lack %s (%v)", s.Title(), f, err)
				}
			}
		}
	}
	return errs
}

// hasIface reports whether node has iface: an end of one of its links, or
// lo, which every node has.
func hasIface(spec topology.Spec, node, iface string) bool {
	if !hasNode(spec, node) {
		return false
	}
	_, ok := endpoint(spec, node, iface)
	return ok || iface == "lo"
}

func hasNode(spec topology.Spec, node string) bool {
	return slices.ContainsFunc(spec.Nodes, func(n topology.Node) bool { return n.Name == node })
}

// endpoint finds the link end node/iface in a spec.
func endpoint(spec topology.Spec, node, iface string) (topology.Endpoint, bool) {
	for _, l := range spec.Links {
		for _, e := range []topology.Endpoint{l.A, l.B} {
			if e.Node == node && e.Iface == iface {
				return e, true
			}
		}
	}
	return topology.Endpoint{}, false
}

// WriteUp is what `up` prints about a lab that came up: its mode, its
// topology with the programs' attach points, and what to try next.
//
// several says that other labs are up in the instance too: a bare node name
// is then ambiguous to exec and traffic, so the hints name it LAB/NODE.
func WriteUp(w io.Writer, info Info, env *Env, several bool) {
	info = info.ForStep(env.Options.Step)
	var how []string
	if env.Options.Mode != "" {
		how = append(how, string(env.Options.Mode)+" mode")
	}
	if env.Options.Step != "" {
		how = append(how, "step "+env.Options.Step)
	}
	how = append(how, "instance "+env.Instance)
	notes := info.Annotations()
	if env.Options.Bare {
		fmt.Fprintf(w, "%s is up bare (%s): its topology only, no program loaded\n\n", info.Name, strings.Join(how, ", "))
		notes = bareAnnotations(info)
	} else {
		fmt.Fprintf(w, "%s is up (%s)\n\n", info.Name, strings.Join(how, ", "))
	}
	env.Topo.WriteText(w, notes)
	for _, a := range info.Attach {
		if _, err := env.Topo.Endpoint(a.Node, a.Iface); err != nil && notes[a.Where()] != "" {
			// Not a link's end (lo), so not in the picture.
			fmt.Fprintf(w, "  [%s] %s   <- %s\n", a.Node, a.Iface, notes[a.Where()])
		}
	}
	writeTracingUp(w, info)
	qualify := func(line string) string {
		if several {
			return qualifyNodes(line, info.Name, info.Spec())
		}
		return line
	}
	if env.Options.Bare {
		writeBareUp(w, info, env, qualify)
	}
	fmt.Fprintln(w, "\nnext:")
	for _, s := range NextSteps(info, env.Instance) {
		fmt.Fprintln(w, "  "+qualify(s))
	}
}

// qualifyNodes rewrites the nodes a hint's xdplab commands name, exec's
// node and traffic's --from, as LAB/NODE. Other words are left alone (an
// `ip netns exec` names a whole namespace).
func qualifyNodes(line, lab string, spec topology.Spec) string {
	words := strings.Split(line, " ")
	inExec := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "#":
			inExec = false
		case i > 0 && words[i-1] == "xdplab" && w == "exec":
			inExec = true
		case w == "--from" || (inExec && strings.HasPrefix(w, "--")):
			// The next word is a flag's value: --from's is a node.
			if i+1 < len(words) && w == "--from" && hasNode(spec, words[i+1]) {
				words[i+1] = lab + "/" + words[i+1]
			}
			i++
		case inExec:
			if hasNode(spec, w) {
				words[i] = lab + "/" + w
			}
			inExec = false
		}
	}
	return strings.Join(words, " ")
}

// NextSteps is what `up` suggests trying once the lab is up, spelled for
// the instance.
func NextSteps(info Info, instance string) []string {
	flag := InstanceFlag(instance)
	var steps []string
	for _, line := range info.Next {
		if s, err := expand(line, instance, info.Name, info.Spec()); err == nil {
			steps = append(steps, s)
		}
	}
	return append(steps,
		fmt.Sprintf("sudo xdplab check %s%s      # verify every expectation", info.Name, flag),
		fmt.Sprintf("sudo xdplab watch %s%s      # live view of its maps", info.Name, flag),
		fmt.Sprintf("sudo xdplab status%s", flag),
		fmt.Sprintf("xdplab guide %s", info.Name),
		fmt.Sprintf("sudo xdplab down %s%s", info.Name, flag),
	)
}

// expand fills the placeholders of a next-step line.
func expand(line, instance, lab string, spec topology.Spec) (string, error) {
	var b strings.Builder
	rest := line
	for {
		before, after, found := strings.Cut(rest, "{")
		b.WriteString(before)
		if !found {
			return b.String(), nil
		}
		ph, tail, ok := strings.Cut(after, "}")
		if !ok {
			return "", fmt.Errorf("unclosed {")
		}
		rest = tail
		kind, arg, _ := strings.Cut(ph, ":")
		switch kind {
		case "instance":
			b.WriteString(InstanceFlag(instance))
		case "ns":
			if !hasNode(spec, arg) {
				return "", fmt.Errorf("{ns:%s}: topology %s has no node %q", arg, spec.Name, arg)
			}
			b.WriteString(topology.NamespaceName(instance, lab, arg))
		case "addr":
			node, iface, _ := strings.Cut(spec.Roles[arg], "/")
			e, ok := endpoint(spec, node, iface)
			if !ok {
				return "", fmt.Errorf("{addr:%s}: topology %s has no role %q", arg, spec.Name, arg)
			}
			p, err := netip.ParsePrefix(e.Addr)
			if err != nil {
				return "", fmt.Errorf("{addr:%s}: %s/%s has no address", arg, node, iface)
			}
			b.WriteString(p.Addr().String())
		default:
			return "", fmt.Errorf("unknown placeholder {%s}: want {instance}, {ns:NODE} or {addr:ROLE}", ph)
		}
	}
}

// hookNouns say what a program on a hook is, for messages.
var hookNouns = map[string]string{
	HookXDP: "an XDP program", HookSocket: "a socket filter",
	HookTracepoint: "a tracepoint program", HookKprobe: "a kprobe program", HookKretprobe: "a kretprobe program",
}

// writeTracingUp is what `up` says of a lab's tracing hooks, under the
// picture: they are on no interface, and they see the whole machine.
func writeTracingUp(w io.Writer, info Info) {
	for _, a := range info.Attach {
		if a.Tracing() && a.Variant == "" {
			fmt.Fprintf(w, "  [machine] %s   <- %s (runs for every process on this machine, not only the lab's)\n", a.Where(), a.Program)
		}
	}
}

// modeFor is the mode the lab runs step in when requested is asked for
// ("": the step's default). A lab without XDP runs in no mode; asking it
// for one is a usage error that says why and spells again, the command
// without --mode. A mode the lab has but the step has not is a usage error
// that names the steps that have it, with the command (verb: up or run, on
// instance) that runs one of them.
func (i Info) modeFor(requested Mode, step, again, instance, verb string) (Mode, error) {
	in := i.ForStep(step)
	if len(in.Modes) == 0 {
		if requested == "" {
			return "", nil
		}
		var what []string
		for _, a := range in.Attach {
			if a.Variant == "" {
				what = append(what, fmt.Sprintf("its %s is %s", a.Program, hookNouns[a.Hook]))
			}
		}
		return "", Errorf(ErrUsage, "%s has no XDP program (%s): --mode does not apply; run %s",
			i.Name, strings.Join(slices.Compact(what), ", "), again)
	}
	if requested == "" {
		return in.Modes[0], nil
	}
	if slices.Contains(in.Modes, requested) {
		return requested, nil
	}
	if !slices.Contains(i.Modes, requested) {
		return "", Errorf(ErrUsage, "%s does not run in %s mode: its modes are %s", i.Name, requested, modeList(i.Modes))
	}
	var others []string
	for _, s := range i.Steps {
		if slices.Contains(i.ForStep(s.Name).Modes, requested) {
			others = append(others, s.Title())
		}
	}
	if len(others) == 0 {
		return "", Errorf(ErrUsage, "%s does not run in %s mode: %s; run %s", stepOf(i.Name, step), requested, in.onlyModes(requested), again)
	}
	return "", Errorf(ErrUsage, "%s does not run in %s mode: %s; run %s, or a step that runs in %s mode (%s), as in %s",
		stepOf(i.Name, step), requested, in.onlyModes(requested), again, requested, strings.Join(others, ", "),
		Cmd(instance, verb+" "+i.Name+" --step "+others[0]+" --mode "+string(requested)))
}

// stepOf names a lab's step in a sentence: "icmp_drop's base exercise",
// "icmp_drop's step veth1".
func stepOf(lab, step string) string {
	if step == "" || step == BaseStep {
		return lab + "'s base exercise"
	}
	return lab + "'s step " + step
}

// onlyModes says why a step runs in its modes only, and not in asked: "its
// program runs on node1/lo, in generic mode only: the loopback device has
// no driver, and native XDP is a driver's".
func (i Info) onlyModes(asked Mode) string {
	s := "it runs in " + modeList(i.Modes) + " mode only"
	for _, a := range i.Attach {
		if a.Hook == HookXDP && a.Iface == "lo" && asked == ModeNative {
			return fmt.Sprintf("its program runs on %s, in %s mode only: the loopback device has no driver, and native XDP is a driver's (the kernel refuses: %q)",
				a.Where(), modeList(i.Modes), "Underlying driver does not support XDP in native mode")
		}
	}
	return s
}

func modeList(modes []Mode) string {
	var names []string
	for _, m := range modes {
		names = append(names, string(m))
	}
	return strings.Join(names, ", ")
}

// ModeNote is ", native mode" for reports and status lines, or nothing for
// a lab that runs in no mode.
func ModeNote(m Mode) string {
	if m == "" {
		return ""
	}
	return ", " + string(m) + " mode"
}
