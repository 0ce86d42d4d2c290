// Package guide reads the command blocks of a markdown guide, with the
// directives that tell the guide test how to run them, and spells a guide
// written for the default instance for the reader's.
package guide

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Marker starts a directive: a shell comment in an sh block that tells the
// guide test how to run a command, or, alone on a block's first line, the
// whole block. CONTRIBUTING.md ("Guides that run as written") lists them.
const Marker = "# xdplab-guide:"

// Run is the language of the blocks the guide test runs: commands, one a
// line, as the reader pastes them. Every other block is output, code or
// data, and is never run.
const Run = "sh"

// Block is one fenced code block of a markdown document.
type Block struct {
	// Line is the line of its opening fence, from 1.
	Line int
	// Lang is the first word of the fence's info string ("sh", "text", ""...).
	Lang string
	// Lines are its lines as the document has them, without the fences and
	// without the indentation of an indented fence.
	Lines []string
	// Skip is why the test does not run the block (a `skip (reason)`
	// directive on its first line), or "".
	Skip string
	// NeedsSteps marks a block that only runs once the guide's lab has
	// exercises (`needs steps`): until then `xdplab init` refuses the lab.
	NeedsSteps bool
	// Given are the files the reader is expected to bring to the block,
	// which the test copies from the repository into the current directory
	// first (`given FILE from PATH`).
	Given []Given
	// Commands are the commands of an sh block, in order.
	Commands []Command
}

// Command is one command of an sh block: a line, with the lines a trailing
// backslash joins to it.
type Command struct {
	// Line is its first line in the document, from 1.
	Line int
	// Text is the command as the shell reads it, its directive removed.
	Text string
	// Skip is why the test does not run it, or "".
	Skip string
	// Exit are the exit codes it may end with (`exit N` or `exit N,M`);
	// none means 0.
	Exit []int
	// Interrupt, when set, is how long the command runs before the test
	// presses Ctrl-C (SIGINT to its process group), for commands that run
	// until stopped (`interrupt 2s`).
	Interrupt time.Duration
	// Background commands run "in another terminal": the next commands start
	// at once, and Ctrl-C reaches them after the block's last command.
	Background bool
	// Prints is text the command's output must hold (`prints "TEXT"`): a
	// background command's when the next command starts, any other's
	// when it ends.
	Prints string
}

// Allows reports whether the command may end with an exit code.
func (c Command) Allows(code int) bool {
	if len(c.Exit) == 0 {
		return code == 0
	}
	return slices.Contains(c.Exit, code)
}

// Given is a file a block expects the reader to have.
type Given struct {
	// File is its name in the reader's current directory.
	File string
	// From is the file in the repository that stands for it.
	From string
}

// Blocks returns every fenced code block of a markdown document, and the
// commands of its sh blocks. The error names every line that breaks the
// convention: a directive it cannot read, an unclosed fence, a shell prompt
// in an sh block, a block without a language that starts with a command
// (which the test would silently not run), a bash or shell block.
func Blocks(md string) ([]Block, error) {
	var blocks []Block
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
	scan(md, func(l line) {
		switch l.kind {
		case fenceOpen:
			blocks = append(blocks, Block{Line: l.n, Lang: l.lang})
		case code:
			b := &blocks[len(blocks)-1]
			b.Lines = append(b.Lines, l.text)
		}
	}, func(n int) { bad(n, "the code block opened here is never closed") })
	for i := range blocks {
		b := &blocks[i]
		switch {
		case b.Lang == Run:
			parseCommands(b, bad)
		case b.Lang == "bash" || b.Lang == "shell":
			bad(b.Line, "```%s: write ```sh, the one language the guide test runs (```text or ```console for output)", b.Lang)
		case b.Lang == "" && looksLikeCommand(firstLine(b.Lines)):
			bad(b.Line, "a block without a language starts with the command %q: mark it ```sh (the guide test runs it) or ```text (output, never run)", firstLine(b.Lines))
		case slices.ContainsFunc(b.Lines, func(l string) bool { return strings.Contains(l, Marker) }):
			bad(b.Line, "a directive in a ```%s block: the guide test reads directives in ```sh blocks only", b.Lang)
		}
	}
	return blocks, errors.Join(errs...)
}

// commandWords start the lines that make a block without a language look
// like commands rather than output.
var commandWords = []string{"sudo ", "xdplab ", "make ", "make\n", "clang ", "cd "}

func looksLikeCommand(s string) bool {
	s += "\n"
	for _, w := range commandWords {
		if strings.HasPrefix(s, w) {
			return true
		}
	}
	return false
}

func firstLine(lines []string) string {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

// parseCommands splits an sh block into its commands and reads their
// directives.
func parseCommands(b *Block, bad func(int, string, ...any)) {
	first := true
	for i := 0; i < len(b.Lines); i++ {
		n := b.Line + 1 + i
		text := b.Lines[i]
		trimmed := strings.TrimSpace(text)
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "$ ") {
			bad(n, "a shell prompt in an sh block: an sh block holds the commands alone (a transcript with output is ```console)")
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			if !strings.HasPrefix(trimmed, Marker) {
				first = false
				continue
			}
			if !first {
				bad(n, "a directive alone on a line applies to the block and goes at its top; for one command, write it at the end of the command's line")
				continue
			}
			d, err := parseDirective(strings.TrimPrefix(trimmed, Marker))
			switch {
			case err != nil:
				bad(n, "%v", err)
			case d.exit != nil || d.interrupt != 0 || d.background || d.prints != "":
				bad(n, "only skip, needs steps and given apply to a whole block; write the others at the end of a command's line")
			}
			if d.skip != "" {
				b.Skip = d.skip
			}
			b.NeedsSteps = b.NeedsSteps || d.needsSteps
			b.Given = append(b.Given, d.given...)
			continue
		}
		first = false
		start := n
		for strings.HasSuffix(text, `\`) && i+1 < len(b.Lines) {
			i++
			text += "\n" + b.Lines[i]
		}
		cmd, directive, _ := strings.Cut(text, Marker)
		c := Command{Line: start, Text: strings.TrimRight(cmd, " \t")}
		if directive != "" {
			d, err := parseDirective(directive)
			if err != nil {
				bad(start, "%v", err)
			}
			if d.needsSteps || len(d.given) > 0 {
				bad(start, "needs steps and given apply to a whole block: write them alone on the block's first line")
			}
			c.Skip, c.Interrupt, c.Background, c.Prints = d.skip, d.interrupt, d.background, d.prints
			c.Exit = d.exit
		}
		b.Commands = append(b.Commands, c)
	}
}

type directive struct {
	skip       string
	exit       []int
	interrupt  time.Duration
	background bool
	prints     string
	needsSteps bool
	given      []Given
}

// parseDirective reads what follows the marker: items separated by ";".
func parseDirective(s string) (directive, error) {
	var d directive
	for _, item := range splitItems(s) {
		item = strings.TrimSpace(item)
		word, arg, _ := strings.Cut(item, " ")
		arg = strings.TrimSpace(arg)
		switch word {
		case "skip":
			reason, ok := strings.CutPrefix(arg, "(")
			reason, ok2 := strings.CutSuffix(reason, ")")
			if !ok || !ok2 || strings.TrimSpace(reason) == "" {
				return d, fmt.Errorf("%q: skip needs its reason in parentheses, as in `skip (needs a go-xdp-examples checkout)`", item)
			}
			d.skip = reason
		case "exit":
			// The codes may be followed by why, in parentheses.
			nums, why, _ := strings.Cut(arg, " ")
			why = strings.TrimSpace(why)
			ok := why == "" || strings.HasPrefix(why, "(") && strings.HasSuffix(why, ")")
			d.exit = nil
			for num := range strings.SplitSeq(nums, ",") {
				code, err := strconv.Atoi(num)
				ok = ok && err == nil && code >= 0 && code <= 255
				d.exit = append(d.exit, code)
			}
			if !ok {
				return d, fmt.Errorf("%q: exit takes the exit code the command ends with, 0 to 255 (or several: 0,1), and why in parentheses if you like, as in `exit 1 (the starter fails)`", item)
			}
		case "interrupt":
			dur, err := time.ParseDuration(arg)
			if err != nil || dur <= 0 {
				return d, fmt.Errorf("%q: interrupt takes how long the command runs before Ctrl-C, as in `interrupt 2s`", item)
			}
			d.interrupt = dur
		case "background":
			if arg != "" {
				return d, fmt.Errorf("%q: background takes nothing (prints \"TEXT\" is an item of its own, after a ;)", item)
			}
			d.background = true
		case "prints":
			text, err := strconv.Unquote(arg)
			if err != nil || text == "" {
				return d, fmt.Errorf("%q: prints takes the text the command prints, in double quotes", item)
			}
			d.prints = text
		case "given":
			file, from, ok := strings.Cut(arg, " from ")
			file, from = strings.TrimSpace(file), strings.TrimSpace(from)
			if !ok || file == "" || from == "" || strings.ContainsAny(file+from, " \t") || path.IsAbs(file) || path.IsAbs(from) ||
				strings.HasPrefix(path.Clean(file), "..") || strings.HasPrefix(path.Clean(from), "..") {
				return d, fmt.Errorf("%q: given names a file the reader brings and the repository's file that stands for it, both relative, as in `given prog.c from labs/xdpcap/testdata/hook_btf.c`", item)
			}
			d.given = append(d.given, Given{File: file, From: from})
		case "needs":
			if arg != "steps" {
				return d, fmt.Errorf("%q: the only need is `needs steps`", item)
			}
			d.needsSteps = true
		default:
			return d, fmt.Errorf("unknown directive %q: want skip (reason), exit N, interrupt DURATION, background, prints \"TEXT\", needs steps or given FILE from PATH", item)
		}
	}
	if d.background && d.interrupt != 0 {
		return d, fmt.Errorf("a background command is interrupted after the block's last command: drop interrupt")
	}
	if d.skip != "" && (d.exit != nil || d.interrupt != 0 || d.background || d.prints != "") {
		return d, fmt.Errorf("a skipped command does not run: skip takes no other directive")
	}
	return d, nil
}

// splitItems splits a directive at the semicolons outside double quotes
// and parentheses.
func splitItems(s string) []string {
	var items []string
	quoted, depth, start := false, 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == '(' && !quoted:
			depth++
		case s[i] == ')' && !quoted && depth > 0:
			depth--
		case s[i] == ';' && !quoted && depth == 0:
			items = append(items, s[start:i])
			start = i + 1
		}
	}
	return append(items, s[start:])
}

// lineKind says what a line of a markdown document is.
type lineKind int

const (
	prose lineKind = iota
	fenceOpen
	fenceClose
	code
)

type line struct {
	n    int // from 1
	raw  string
	text string // a code line without the fence's indentation
	kind lineKind
	lang string // the enclosing block's language
}

// scan walks the lines of a markdown document, telling fences, code and
// prose apart. Only backtick fences are recognised: the guides use no other.
// unclosed is called with the line of a fence that is never closed.
func scan(md string, fn func(line), unclosed func(int)) {
	lines := strings.SplitAfter(md, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var (
		in     bool
		ticks  int
		indent string
		lang   string
		opened int
	)
	for i, raw := range lines {
		body := strings.TrimSuffix(raw, "\n")
		trimmed := strings.TrimLeft(body, " ")
		run := len(trimmed) - len(strings.TrimLeft(trimmed, "`"))
		l := line{n: i + 1, raw: raw, text: body}
		switch {
		case !in && run >= 3:
			in, ticks, opened = true, run, i+1
			indent = body[:len(body)-len(trimmed)]
			lang, _, _ = strings.Cut(strings.TrimSpace(trimmed[run:]), " ")
			l.kind, l.lang = fenceOpen, lang
		case in && run >= ticks && strings.TrimSpace(trimmed[run:]) == "":
			in = false
			l.kind, l.lang = fenceClose, lang
		case in:
			l.kind, l.lang = code, lang
			l.text = strings.TrimPrefix(body, indent)
		}
		fn(l)
	}
	if in && unclosed != nil {
		unclosed(opened)
	}
}
