package guide

import (
	"regexp"
	"slices"
	"strings"
)

// Spelling turns a text written for the default instance into the reader's:
// namespace names <default>-<lab>-<node> become <instance>-<lab>-<node>,
// the instance's directories (<dir>/<default>/...) become <dir>/<instance>/,
// every xdplab command that acts on an instance gains --instance NAME, and
// `make up|check|down` in a workspace gains INSTANCE=NAME.
type Spelling struct {
	// Instance is the reader's instance; Default the one the text is
	// written for. Equal, the text is left as it is.
	Instance, Default string
	// Labs are the lab names, which namespace names hold.
	Labs []string
	// Dirs hold a directory per instance (the pin root, the state directory).
	Dirs []string
	// Instanceless are the xdplab commands that act on no instance: they
	// take no --instance.
	Instanceless []string
}

// Spell returns md for the reader's instance. It spells commands where a
// reader copies them from: each line of an sh block, a console block's
// lines after their "$ " prompt, and inline code in prose that is such a
// command (see pasted). Names and directories are spelled everywhere.
// Directives are kept (Strip removes them).
func (s Spelling) Spell(md string) string {
	if s.Instance == "" || s.Instance == s.Default {
		return md
	}
	names := s.nameSpeller()
	var out strings.Builder
	var para []string // prose lines, spelled together: inline code may span lines
	flush := func() {
		out.WriteString(s.spellProse(strings.Join(para, "")))
		para = para[:0]
	}
	var cmd []string // lines of an sh command joined by trailing backslashes
	scan(md, func(l line) {
		raw := names(l.raw)
		if l.kind != prose {
			flush()
		}
		switch {
		case l.kind == prose:
			para = append(para, raw)
			if strings.TrimSpace(raw) == "" {
				flush()
			}
		case l.kind == code && l.lang == Run:
			cmd = append(cmd, raw)
			if !strings.HasSuffix(strings.TrimRight(raw, "\n"), `\`) {
				out.WriteString(s.spellCommand(strings.Join(cmd, "")))
				cmd = cmd[:0]
			}
		case l.kind == code && (l.lang == "console" || l.lang == "text" || l.lang == ""):
			out.WriteString(s.spellPrompt(raw))
		default:
			out.WriteString(strings.Join(cmd, ""))
			cmd = cmd[:0]
			out.WriteString(raw)
		}
	}, nil)
	flush()
	out.WriteString(strings.Join(cmd, ""))
	return out.String()
}

// nameSpeller returns the function that spells namespace names and
// directories.
func (s Spelling) nameSpeller() func(string) string {
	def := regexp.QuoteMeta(s.Default)
	var repl []func(string) string
	if len(s.Labs) > 0 {
		labs := make([]string, len(s.Labs))
		for i, l := range s.Labs {
			labs[i] = regexp.QuoteMeta(l)
		}
		// Longest first, so that no lab name stops the match of a longer one.
		slices.SortFunc(labs, func(a, b string) int { return len(b) - len(a) })
		ns := regexp.MustCompile(`(^|[^A-Za-z0-9_.-])` + def + `-(` + strings.Join(labs, "|") + `)-`)
		repl = append(repl, func(t string) string { return ns.ReplaceAllString(t, "${1}"+s.Instance+"-${2}-") })
	}
	for _, d := range s.Dirs {
		dir := regexp.MustCompile(`(` + regexp.QuoteMeta(strings.TrimSuffix(d, "/")) + `/)` + def + `([^A-Za-z0-9_.-]|$)`)
		repl = append(repl, func(t string) string { return dir.ReplaceAllString(t, "${1}"+s.Instance+"${2}") })
	}
	return func(t string) string {
		for _, r := range repl {
			t = r(t)
		}
		return t
	}
}

// spellPrompt spells the command of a console line ("$ sudo xdplab ...").
func (s Spelling) spellPrompt(raw string) string {
	trimmed := strings.TrimLeft(raw, " \t")
	cmd, ok := strings.CutPrefix(trimmed, "$ ")
	if !ok {
		return raw
	}
	return raw[:len(raw)-len(cmd)] + s.spellCommand(cmd)
}

// spellProse spells the inline code of a paragraph that is a command.
func (s Spelling) spellProse(text string) string {
	var out strings.Builder
	for {
		open := strings.IndexByte(text, '`')
		if open < 0 {
			out.WriteString(text)
			return out.String()
		}
		n := len(text[open:]) - len(strings.TrimLeft(text[open:], "`"))
		delim := text[open : open+n]
		end := closingRun(text[open+n:], n)
		if end < 0 {
			out.WriteString(text)
			return out.String()
		}
		span := text[open+n : open+n+end]
		out.WriteString(text[:open+n])
		if pasted(span) {
			span = s.spellCommand(span)
		}
		out.WriteString(span)
		out.WriteString(delim)
		text = text[open+n+end+n:]
	}
}

// pasted reports whether inline code is a command a reader pastes, rather
// than a command named in passing ("`xdplab capture` builds..."): it
// starts with `sudo xdplab`, or with `xdplab` and a command with
// arguments, or with `make`, and it is no synopsis (`capture <lab> [-w
// FILE]`).
func pasted(span string) bool {
	words := strings.Fields(span)
	switch {
	case strings.ContainsAny(span, "<[") || len(words) < 2:
		return false
	case words[0] == "sudo" && words[1] == "xdplab", words[0] == "make":
		return true
	}
	return words[0] == "xdplab" && len(words) >= 3
}

// closingRun finds the run of backticks exactly n long that closes an
// inline code span, as markdown does, or -1.
func closingRun(text string, n int) int {
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '`')
		if j < 0 {
			return -1
		}
		at, k := i+j, i+j
		for k < len(text) && text[k] == '`' {
			k++
		}
		if k-at == n {
			return at
		}
		i = k
	}
	return -1
}

// spellCommand spells every simple command of a shell line.
func (s Spelling) spellCommand(text string) string {
	type insert struct {
		at   int
		text string
	}
	var inserts []insert
	for _, c := range simpleCommands(text) {
		if add := s.addition(c); add != "" && c.argsEnd >= 0 {
			inserts = append(inserts, insert{c.words[c.argsEnd].end, add})
		}
	}
	for i := len(inserts) - 1; i >= 0; i-- {
		in := inserts[i]
		text = text[:in.at] + in.text + text[in.at:]
	}
	return text
}

// addition is what a simple command gains for the instance, or "".
func (s Spelling) addition(c simple) string {
	i := 0
	for i < len(c.words) && (c.words[i].text == "sudo" || isAssignment(c.words[i].text)) {
		i++
	}
	if i >= len(c.words) || i > c.argsEnd {
		return ""
	}
	args := c.words[i+1 : c.argsEnd+1]
	switch prog := c.words[i].text; {
	case prog == "xdplab" || strings.HasSuffix(prog, "/xdplab"):
		if len(args) == 0 || strings.HasPrefix(args[0].text, "-") || slices.Contains(s.Instanceless, args[0].text) {
			return ""
		}
		for _, a := range c.words[i+1:] {
			if a.text == "--instance" || strings.HasPrefix(a.text, "--instance=") {
				return ""
			}
		}
		return " --instance " + s.Instance
	case prog == "make":
		workspace := false
		for _, a := range args {
			if strings.HasPrefix(a.text, "INSTANCE=") {
				return ""
			}
			workspace = workspace || a.text == "up" || a.text == "check" || a.text == "down"
		}
		if workspace {
			return " INSTANCE=" + s.Instance
		}
	}
	return ""
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	return ok && name != "" && strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// word is a shell word: its text as written and where it ends.
type word struct {
	text       string
	start, end int
}

// simple is a simple command: its words, and the index of its last
// argument (before a "--" or a redirection), -1 for none.
type simple struct {
	words   []word
	argsEnd int
}

// simpleCommands splits a shell line into its simple commands, well enough
// for the lines guides hold: quotes, escapes, $(...), operators, redirections
// and a trailing comment are understood; a backslash-newline is a space.
func simpleCommands(text string) []simple {
	var (
		cmds  []simple
		cur   simple
		start = -1
		ended bool // "--" or a redirection ended the arguments
	)
	cur.argsEnd = -1
	endWord := func(at int) {
		if start < 0 {
			return
		}
		w := word{text: text[start:at], start: start, end: at}
		cur.words = append(cur.words, w)
		if w.text == "--" {
			ended = true
		}
		if !ended {
			cur.argsEnd = len(cur.words) - 1
		}
		start = -1
	}
	endCmd := func() {
		if len(cur.words) > 0 {
			cmds = append(cmds, cur)
		}
		cur, ended = simple{argsEnd: -1}, false
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text) && text[i+1] == '\n':
			endWord(i)
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			endWord(i)
		case c == '#' && start < 0:
			endWord(i)
			endCmd()
			return cmds
		case c == '|' || c == ';' || c == '&' || c == '(' || c == ')':
			endWord(i)
			endCmd()
		case c == '<' || c == '>':
			if start >= 0 && strings.Trim(text[start:i], "0123456789") != "" {
				endWord(i)
			} else {
				start = -1
			}
			ended = true
			for i+1 < len(text) && strings.IndexByte("<>&", text[i+1]) >= 0 {
				i++
			}
		default:
			if start < 0 {
				start = i
			}
			i = skipQuoted(text, i)
		}
	}
	endWord(len(text))
	endCmd()
	return cmds
}

// skipQuoted returns the index of the last byte of the quoted part, escape
// or $(...) that starts at i, or i for an ordinary byte.
func skipQuoted(text string, i int) int {
	switch {
	case text[i] == '\\' && i+1 < len(text):
		return i + 1
	case text[i] == '\'':
		if j := strings.IndexByte(text[i+1:], '\''); j >= 0 {
			return i + 1 + j
		}
	case text[i] == '"':
		for j := i + 1; j < len(text); j++ {
			if text[j] == '\\' {
				j++
			} else if text[j] == '"' {
				return j
			}
		}
	case text[i] == '$' && i+1 < len(text) && text[i+1] == '(':
		depth := 0
		for j := i + 1; j < len(text); j++ {
			switch text[j] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return j
				}
			}
		}
	}
	return i
}

// Strip removes the guide test's directives from a document for the reader:
// the lines that hold only a directive, and the directive at the end of a
// command's line.
func Strip(md string) string {
	var out strings.Builder
	scan(md, func(l line) {
		if l.kind != code || !strings.Contains(l.raw, Marker) {
			out.WriteString(l.raw)
			return
		}
		before, _, _ := strings.Cut(l.raw, Marker)
		if strings.TrimSpace(before) == "" {
			return
		}
		out.WriteString(strings.TrimRight(before, " \t"))
		if strings.HasSuffix(l.raw, "\n") {
			out.WriteString("\n")
		}
	}, nil)
	return out.String()
}
