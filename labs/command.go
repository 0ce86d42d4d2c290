package labs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
)

// Command is a subcommand a lab contributes to xdplab (basic_firewall's
// `fw list|add|del`), described without any CLI library: cmd/xdplab mounts
// every lab's commands with the flags, root check and usage errors of its
// own commands.
type Command struct {
	Name string
	// Usage is one line for help.
	Usage string
	// ArgsUsage names the positional arguments ("CIDR"), and ArgsHelp says
	// what they are, for the usage error a wrong count gets.
	ArgsUsage, ArgsHelp string
	// Args is the exact number of positional arguments; -1 takes any.
	Args int
	// JSON says the command accepts --json (see Output).
	JSON bool
	// Sub are subcommands; a command has either Sub or Run.
	Sub []Command
	// Run does the work on the runner of the instance the command line
	// chose, with args already counted.
	Run func(ctx context.Context, r *Runner, args []string, out Output) error
}

// Commander is implemented by labs that contribute subcommands.
type Commander interface {
	Commands() []Command
}

// Output is where a lab command writes, and whether --json asked for JSON.
type Output struct {
	W    io.Writer
	JSON bool
}

// Encode writes v as indented JSON, as every --json output is.
func (o Output) Encode(v any) error { return WriteJSONValue(o.W, v) }

// WriteJSONValue writes v as indented JSON without HTML escaping, every list
// in it [] rather than null even when it is empty (withEmptyLists).
func WriteJSONValue(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if v != nil {
		v = withEmptyLists(reflect.ValueOf(v)).Interface()
	}
	return enc.Encode(v)
}

// validate checks a command tree: names, and either a Run or subcommands.
func (c Command) validate() error {
	switch {
	case c.Name == "" || c.Usage == "":
		return fmt.Errorf("command %q: a name and a usage, please", c.Name)
	case (c.Run == nil) == (len(c.Sub) == 0):
		return fmt.Errorf("command %s: either Run or subcommands", c.Name)
	case c.Run == nil && (c.JSON || c.Args != 0 || c.ArgsUsage != ""):
		return fmt.Errorf("command %s: arguments and --json belong to its subcommands", c.Name)
	case c.Args < -1:
		return fmt.Errorf("command %s: Args %d: want a count, or -1 for any", c.Name, c.Args)
	}
	seen := map[string]bool{}
	for _, s := range c.Sub {
		if seen[s.Name] {
			return fmt.Errorf("command %s: subcommand %s declared twice", c.Name, s.Name)
		}
		seen[s.Name] = true
		if err := s.validate(); err != nil {
			return fmt.Errorf("command %s: %w", c.Name, err)
		}
	}
	return nil
}
