package labs

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/labs/guide"
)

// Registry holds the labs in course order. It is filled explicitly (see
// labs/course), never by init side effects.
type Registry struct {
	labs  []Lab
	index map[string]Lab
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{index: map[string]Lab{}} }

// Register adds a lab at the end of the course, once its Info is complete
// and consistent (see Info.validate). It does not decode the lab's
// topology: every command builds the registry when it starts, and few need
// a topology (Info.Verify, run by the tests, checks what depends on it).
func (r *Registry) Register(l Lab) error {
	info := l.Info()
	if err := info.validate(); err != nil {
		return err
	}
	if _, dup := r.index[info.Name]; dup {
		return fmt.Errorf("lab %q registered twice", info.Name)
	}
	if c, ok := l.(Commander); ok {
		for _, cmd := range c.Commands() {
			if err := cmd.validate(); err != nil {
				return fmt.Errorf("lab %s: %w", info.Name, err)
			}
			for _, other := range r.Commands() {
				if other.Name == cmd.Name {
					return fmt.Errorf("lab %s: command %q is another lab's already", info.Name, cmd.Name)
				}
			}
		}
	}
	r.labs = append(r.labs, l)
	r.index[info.Name] = l
	return nil
}

// Get returns a lab by name; an unknown name lists the valid ones.
func (r *Registry) Get(name string) (Lab, error) {
	if l, ok := r.index[name]; ok {
		return l, nil
	}
	return nil, Errorf(ErrUnknownLab, "unknown lab %q: valid labs are %s", name, strings.Join(r.Names(), ", "))
}

// All returns the labs in course order.
func (r *Registry) All() []Lab { return append([]Lab(nil), r.labs...) }

// Names returns the lab names in course order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.labs))
	for i, l := range r.labs {
		names[i] = l.Info().Name
	}
	return names
}

// Number is a lab's place in the course, from 1; 0 for an unknown lab.
func (r *Registry) Number(name string) int {
	return slices.Index(r.Names(), name) + 1
}

// Guide is a lab's guide as `xdplab guide` prints it for the reader's
// instance: the title numbered by the lab's place in the course ("# Lab 3:
// basic_firewall — ..."), the text spelled for the instance (ForInstance)
// and without the guide test's directives.
func (r *Registry) Guide(name, instance string) (string, error) {
	return r.GuideIn(guide.English, name, instance)
}

// ErrNoTranslation is the error of a guide asked for in a language it is
// not translated into yet.
var ErrNoTranslation = errors.New("no translation")

// GuideIn is a lab's guide in a language (a guide.Languages code), as
// Guide prints it, its title numbered in that language ("# ラボ 3: ...").
// A language the guides are not written in is a usage error that lists
// them; one the lab's guide is not translated into is ErrNoTranslation.
func (r *Registry) GuideIn(lang, name, instance string) (string, error) {
	l, err := r.Get(name)
	if err != nil {
		return "", err
	}
	language, ok := guide.LookupLanguage(lang)
	if !ok {
		return "", Errorf(ErrUsage, "no guides in %q: --lang is one of %s", lang, strings.Join(guide.LanguageCodes(), ", "))
	}
	text, ok, err := l.Info().Translation(lang)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("guide %s in %s: %w yet", name, language.Name, ErrNoTranslation)
	}
	text = guide.Strip(r.ForInstance(text, instance))
	return fmt.Sprintf("# %s %d: %s", language.Lab, r.Number(name), strings.TrimPrefix(text, "# ")), nil
}

// DefaultInstance is the instance of a command line without --instance, the
// one guides and the README are written for.
const DefaultInstance = "xdplab"

// InstancelessCommands are the xdplab commands that act on no instance, so
// a guide spelled for an instance leaves them without --instance. Every
// other command takes it (cmd/xdplab's tests hold the CLI to this list).
var InstancelessCommands = []string{"build", "completion", "doctor", "help", "init", "version"}

// ForInstance spells a markdown text written for the default instance (a
// guide, the README) for another one: namespace names, pin and state
// paths, and --instance on the xdplab commands a reader pastes (see
// guide.Spelling). The guide test's directives stay.
func (r *Registry) ForInstance(markdown, instance string) string {
	return guide.Spelling{
		Instance:     instance,
		Default:      DefaultInstance,
		Labs:         r.Names(),
		Dirs:         []string{DefaultPinRoot, state.DefaultDir},
		Instanceless: InstancelessCommands,
	}.Spell(markdown)
}

// LabFlag is a lab's own flag with the lab it belongs to.
type LabFlag struct {
	Flag
	Lab string
}

// Flags are the lab flags of every lab, for the commands that take them
// (up, run); each belongs to one lab (see ParseOptions). A name two labs
// share appears once, with the first lab's usage.
func (r *Registry) Flags() []LabFlag {
	var flags []LabFlag
	seen := map[string]bool{}
	for _, l := range r.labs {
		info := l.Info()
		for _, f := range info.Flags {
			if !seen[f.Name] {
				seen[f.Name] = true
				flags = append(flags, LabFlag{Flag: f, Lab: info.Name})
			}
		}
	}
	return flags
}

// FlagValues is how a command line's flags are read: whether one was
// given, and its value or values. urfave/cli's Context is one.
type FlagValues interface {
	IsSet(name string) bool
	String(name string) string
	StringSlice(name string) []string
}

// ParseOptions collects what a command line chose for the labs named:
// --mode (empty when not given), --obj or --src, and the labs' own flags. A
// flag of a lab that is not named is a usage error, and so are --obj or
// --src for more than one lab, and both together.
func (r *Registry) ParseOptions(names []string, flags FlagValues) (Options, error) {
	opts := Options{Obj: flags.String("obj"), Src: flags.String("src"), Step: flags.String("step"), Values: map[string][]string{}}
	if flags.IsSet("mode") {
		mode, err := ParseMode(flags.String("mode"))
		if err != nil {
			return opts, err
		}
		if mode == "" {
			return opts, Errorf(ErrUsage, "--mode needs a value, as in `--mode native`")
		}
		opts.Mode = mode
	}
	for _, l := range r.labs {
		info := l.Info()
		for _, f := range info.Flags {
			if !flags.IsSet(f.Name) {
				continue
			}
			if !slices.Contains(names, info.Name) {
				return opts, Errorf(ErrUsage, "--%s is a flag of lab %s", f.Name, info.Name)
			}
			if f.Repeatable {
				opts.Values[f.Name] = flags.StringSlice(f.Name)
			} else {
				opts.Values[f.Name] = []string{flags.String(f.Name)}
			}
		}
	}
	if opts.Obj != "" && len(names) != 1 {
		return opts, Errorf(ErrUsage, "--obj replaces one lab's program: name exactly one lab")
	}
	if opts.Src != "" && len(names) != 1 {
		return opts, Errorf(ErrUsage, "--src replaces one lab's program: name exactly one lab")
	}
	if opts.Src != "" && opts.Obj != "" {
		return opts, Errorf(ErrUsage, "--src builds the object that --obj names: give one of them (--src %s, or --obj %s)", opts.Src, opts.Obj)
	}
	if flags.IsSet("step") && len(names) != 1 {
		return opts, Errorf(ErrUsage, "--step chooses one lab's exercise: name exactly one lab")
	}
	return opts, nil
}

// Commands are the subcommands the labs contribute, in course order.
func (r *Registry) Commands() []Command {
	var cmds []Command
	for _, l := range r.labs {
		if c, ok := l.(Commander); ok {
			cmds = append(cmds, c.Commands()...)
		}
	}
	return cmds
}
