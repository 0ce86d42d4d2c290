package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// helpNames are the names urfave/cli gives the help command it adds to the
// app, and to every command with subcommands, when it runs.
var helpNames = []string{"help", "h"}

// completionFlag is the last argument of a shell-completion request; such a
// line is incomplete by nature, so it is passed on as it is.
const completionFlag = "--generate-bash-completion"

// interspersed moves flags in front of positional arguments, so that
// `xdplab up redirect --mode native` works: urfave/cli v2 stops parsing flags
// at the first argument. Everything after "--" is left as it is (exec).
//
// It also refuses, as usage errors, what urfave/cli would misread or answer
// with its own words: a flag that needs a value and has none (once moved, a
// trailing `--instance` would take the word before it as its value), an
// unknown command and an unknown subcommand.
func interspersed(args []string) ([]string, error) {
	return reorder(newApp(), args)
}

// reorder is interspersed for an app already built: main builds one per
// process, since building it reads every lab's Info.
func reorder(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 || args[len(args)-1] == completionFlag || args[1] == completeCmd {
		return args, nil
	}
	// Skip global flags to find the command.
	i, n := 1, 0
	for i < len(args) && isFlag(args[i]) {
		var err error
		if n, err = flagWords(app.Flags, args[i:]); err != nil {
			return nil, err
		}
		i += n
	}
	if i >= len(args) {
		if n == 2 && isCommand(app.Commands, args[i-1]) {
			// `xdplab --instance down`: the command became the flag's value.
			return nil, fmt.Errorf("%w (it took '%s', which left no command)",
				missingValue(lookupFlag(app.Flags, args[i-2]), args[i-2]), args[i-1])
		}
		return args, nil
	}
	if isHelp(args[i]) {
		// `xdplab help frobnicate` names a command too.
		if i+1 < len(args) && !isFlag(args[i+1]) && !isCommand(app.Commands, args[i+1]) {
			return nil, unknownCommand(app.Commands, args[i+1])
		}
		return args, nil
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return nil, unknownCommand(app.Commands, args[i])
	}
	for len(cmd.Subcommands) > 0 && i+1 < len(args) {
		word := args[i+1]
		if isFlag(word) || isHelp(word) {
			break
		}
		sub := cmd.Command(word)
		if sub == nil && cmd.Action != nil {
			break // the command's own argument: `topo FILE` beside `topo validate FILE`
		}
		if sub == nil {
			return nil, unknownSubcommand(cmd, word)
		}
		i++
		cmd = sub
	}
	head := append([]string{}, args[:i+1]...)
	var flags, positional []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			positional = append(positional, rest[j:]...)
			break
		}
		if isFlag(a) {
			n, err := flagWords(cmd.Flags, rest[j:])
			if err != nil {
				return nil, err
			}
			flags = append(flags, rest[j:j+n]...)
			j += n - 1
			continue
		}
		positional = append(positional, a)
	}
	out := append(head, flags...)
	return append(out, positional...), nil
}

// isFlag reports whether a word is written as a flag; "-" alone is a value
// (stdout for capture -w).
func isFlag(word string) bool {
	return strings.HasPrefix(word, "-") && word != "-"
}

func isHelp(word string) bool {
	for _, h := range helpNames {
		if word == h {
			return true
		}
	}
	return false
}

// lookupFlag finds the flag a word names ("--mode", "-c", "--to=ADDR"), or
// nil for a word that names none of flags.
func lookupFlag(flags []cli.Flag, word string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(word, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// flagWords says how many words, from words[0] on, one flag occupies: 2 for
// a flag whose value is the next word, 1 otherwise. A flag that needs a value
// and has none is a usage error: the end of the line, "--", an empty word or
// another of the command's flags where the value should be.
func flagWords(flags []cli.Flag, words []string) (int, error) {
	f := lookupFlag(flags, words[0])
	if f == nil {
		return 1, nil // urfave/cli says it is not defined
	}
	if _, isBool := f.(*cli.BoolFlag); isBool {
		return 1, nil
	}
	typed, value, inline := strings.Cut(words[0], "=")
	switch {
	case inline && value != "":
		return 1, nil
	case inline, len(words) < 2, words[1] == "", words[1] == "--",
		isFlag(words[1]) && lookupFlag(flags, words[1]) != nil:
		return 0, missingValue(f, typed)
	}
	return 2, nil
}

func missingValue(f cli.Flag, typed string) error {
	// The placeholder is the word in backquotes in the flag's usage, as
	// urfave/cli's help shows it ("--instance NAME").
	placeholder := "VALUE"
	if u, ok := f.(cli.DocGenerationFlag); ok {
		if _, after, ok := strings.Cut(u.GetUsage(), "`"); ok {
			if p, _, ok := strings.Cut(after, "`"); ok && p != "" {
				placeholder = p
			}
		}
	}
	return usageErr("%s needs a value, as in `%s %s`", typed, typed, placeholder)
}

func isCommand(cmds []*cli.Command, word string) bool {
	for _, c := range cmds {
		if c.HasName(word) {
			return true
		}
	}
	return isHelp(word)
}

func unknownCommand(cmds []*cli.Command, word string) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return usageErr("unknown command '%s'%s (`xdplab help` lists every command)", word, suggest(word, names))
}

func unknownSubcommand(cmd *cli.Command, word string) error {
	var names []string
	for _, c := range cmd.Subcommands {
		names = append(names, c.Names()...)
	}
	return usageErr("unknown %s subcommand '%s'%s (%s has %s)", cmd.Name, word, suggest(word, names), cmd.Name, strings.Join(names, ", "))
}

// suggest is ": did you mean 'X'?" when a name is a plausible typo of word,
// and nothing when none is: a far-fetched guess only misleads.
func suggest(word string, names []string) string {
	if c := closest(word, names); c != "" {
		return fmt.Sprintf(": did you mean '%s'?", c)
	}
	return ""
}

// closest is the name with the fewest single-letter edits (insert, delete,
// replace, swap two neighbours) from word, the first such one on a tie; ""
// when even that one needs more edits than a typo makes (a third of the
// word, at least 2).
func closest(word string, names []string) string {
	best, bestDist := "", -1
	for _, n := range names {
		if d := editDistance(word, n); bestDist < 0 || d < bestDist {
			best, bestDist = n, d
		}
	}
	if bestDist > max(2, len([]rune(word))/3) {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance: Levenshtein's, with
// a swap of two neighbouring letters ("stauts") counting as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
