package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
)

// completeCmd is the hidden command the shell scripts call with the words
// typed so far, the last one the word being completed (maybe empty).
const completeCmd = "__complete"

// completionScripts call `xdplab __complete WORDS...` and offer what it
// prints, one candidate a line; when it prints nothing (exec's command, a
// file), the shell completes file names.
var completionScripts = map[string]string{
	"bash": `# xdplab completion for bash: xdplab completion bash > /etc/bash_completion.d/xdplab
_xdplab() {
    local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n'
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _xdplab xdplab
`,
	"zsh": `#compdef xdplab
# xdplab completion for zsh: xdplab completion zsh > "${fpath[1]}/_xdplab"
_xdplab() {
    local -a opts
    opts=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if [[ -n "${opts[1]}" ]]; then
        compadd -a opts
    else
        _files
    fi
}
compdef _xdplab xdplab
`,
	"fish": `# xdplab completion for fish: xdplab completion fish > ~/.config/fish/completions/xdplab.fish
function __xdplab_complete
    set -l words (commandline -opc)
    set -l xdplab $words[1]
    set -e words[1]
    set -l cur (commandline -ct)
    set -l out ($xdplab __complete $words "$cur" 2>/dev/null)
    if test (count $out) -gt 0
        printf '%s\n' $out
    else
        __fish_complete_path "$cur"
    end
end
complete -c xdplab -f -a '(__xdplab_complete)'
`,
}

func completionCmd() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish (commands, labs, nodes of the labs up, steps)",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash:  xdplab completion bash > /etc/bash_completion.d/xdplab\n" +
			"zsh:   xdplab completion zsh > \"${fpath[1]}/_xdplab\"\n" +
			"fish:  xdplab completion fish > ~/.config/fish/completions/xdplab.fish",
		Action: func(c *cli.Context) error {
			shells := []string{"bash", "zsh", "fish"}
			if c.NArg() != 1 || completionScripts[c.Args().First()] == "" {
				return usageErr("completion: name a shell: %s, as in `xdplab completion bash > /etc/bash_completion.d/xdplab`", strings.Join(shells, ", "))
			}
			_, err := fmt.Fprint(c.App.Writer, completionScripts[c.Args().First()])
			return err
		},
	}
}

// hiddenCompleteCmd answers the scripts. It parses no flags: the words are
// another command line's.
func (a *app) hiddenCompleteCmd() *cli.Command {
	return &cli.Command{
		Name:            completeCmd,
		Hidden:          true,
		SkipFlagParsing: true,
		HideHelp:        true, // `__complete help ...` is a line to complete
		Action: func(c *cli.Context) error {
			for _, s := range a.complete(c.App, c.Args().Slice()) {
				fmt.Fprintln(c.App.Writer, s)
			}
			return nil
		},
	}
}

// complete is what may follow words (the command line after "xdplab"; its
// last word is the one being completed): commands, subcommands, flags,
// lab names, the nodes of the labs up, step names and the values of a few
// flags. Nothing means "a file, or nothing we know".
func (a *app) complete(app *cli.App, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	var cmd *cli.Command
	flags := app.Flags
	var positional []string
	inst := os.Getenv("XDPLAB_INSTANCE")
	for i := 0; i < len(before); i++ {
		w := before[i]
		switch {
		case w == "--":
			return nil // exec: the node's command line
		case isFlag(w):
			name, value, inline := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if f := lookupFlag(flags, w); f != nil && takesValue(f) && !inline && i+1 < len(before) {
				i++
				value = before[i]
			}
			if name == "instance" {
				inst = value
			}
		case cmd == nil:
			if cmd = findCommand(app.Commands, w); cmd == nil {
				return nil
			}
			flags = cmd.Flags
		case len(cmd.Subcommands) > 0 && len(positional) == 0 && findCommand(cmd.Subcommands, w) != nil:
			cmd = findCommand(cmd.Subcommands, w)
			flags = cmd.Flags
		default:
			positional = append(positional, w)
		}
	}
	if inst == "" {
		inst = labs.DefaultInstance
	}
	if len(before) > 0 {
		if f := lookupFlag(flags, before[len(before)-1]); f != nil && isFlag(before[len(before)-1]) &&
			takesValue(f) && !strings.Contains(before[len(before)-1], "=") {
			return withPrefix(a.flagValues(f.Names()[0], inst, positional), cur)
		}
	}
	if strings.HasPrefix(cur, "-") {
		var names []string
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) > 1 {
					names = append(names, "--"+n)
				}
			}
		}
		return withPrefix(names, cur)
	}
	var out []string
	switch {
	case cmd == nil, cmd.Name == "help" && len(positional) == 0:
		out = commandNames(app.Commands)
	case cmd.Name == "completion" && len(positional) == 0:
		out = []string{"bash", "zsh", "fish"}
	case cmd.Name == "exec" && len(positional) == 0:
		out = a.upNodes(inst)
	case strings.Contains(cmd.ArgsUsage, "<lab") && (len(positional) == 0 || strings.Contains(cmd.ArgsUsage, "<lab>...")):
		out = a.reg.Names()
	}
	if cmd != nil && len(cmd.Subcommands) > 0 && len(positional) == 0 {
		out = append(commandNames(cmd.Subcommands), out...)
	}
	return withPrefix(out, cur)
}

// flagValues are the values a flag takes that xdplab knows of.
func (a *app) flagValues(flag, inst string, positional []string) []string {
	switch flag {
	case "lab":
		return a.reg.Names()
	case "from":
		return a.upNodes(inst)
	case "step":
		return a.stepNames(positional)
	case "mode":
		return []string{string(labs.ModeGeneric), string(labs.ModeNative)}
	case "format":
		return []string{"text", "dot", "mermaid"}
	case "lang":
		return []string{"en", "ja", "zh"}
	}
	return nil
}

// stepNames are the steps of the lab named on the line, or of every lab.
func (a *app) stepNames(positional []string) []string {
	names := a.reg.Names()
	if len(positional) > 0 && slices.Contains(names, positional[0]) {
		names = positional[:1]
	}
	seen := map[string]bool{"base": true}
	out := []string{"base"}
	for _, n := range names {
		l, err := a.reg.Get(n)
		if err != nil {
			continue
		}
		for _, s := range l.Info().Steps {
			if s.Name != "" && !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s.Name)
			}
		}
	}
	return out
}

// upNodes are the nodes of the labs up in an instance, found by their
// namespaces' names, which anyone may list (state files need root, and
// completion runs as the user even for `sudo xdplab`): NODE and LAB/NODE
// with one lab up, LAB/NODE only with several.
func (a *app) upNodes(inst string) []string {
	if topology.ValidateInstance(inst) != nil {
		return nil
	}
	var bare, qualified []string
	labsUp := 0
	for _, lab := range a.reg.Names() {
		prefix := topology.LabPrefix(inst, lab)
		names, _ := namespace.List(prefix)
		if len(names) > 0 {
			labsUp++
		}
		for _, n := range names {
			node := strings.TrimPrefix(n, prefix)
			bare = append(bare, node)
			qualified = append(qualified, lab+"/"+node)
		}
	}
	if labsUp > 1 {
		return qualified
	}
	return append(bare, qualified...)
}

func takesValue(f cli.Flag) bool {
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}

func findCommand(cmds []*cli.Command, word string) *cli.Command {
	if isHelp(word) {
		return &cli.Command{Name: "help"}
	}
	for _, c := range cmds {
		if c.HasName(word) {
			return c
		}
	}
	return nil
}

func commandNames(cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	return append(names, "help")
}

// withPrefix keeps the candidates that start with the word typed, sorted
// as the shells show them.
func withPrefix(cands []string, cur string) []string {
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}
