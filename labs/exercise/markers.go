// Package exercise derives a step's starter and solution from one marked source and writes the learner's workspace.
package exercise

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The markers, each a C comment alone on its line, so that the marked
// source compiles as the solution:
//
//	/* xdplab:todo N: a hint for the learner */   (may continue over lines up to */)
//	...the solution's lines...
//	/* xdplab:else */                             (optional)
//	// ...what the starter has instead, commented out with //...
//	/* xdplab:end */
const (
	markTodo = "xdplab:todo"
	markElse = "/* xdplab:else */"
	markEnd  = "/* xdplab:end */"
)

// ErrMarker marks a source whose markers cannot be read: nested, unbalanced
// or malformed. Its message names file:line.
var ErrMarker = errors.New("exercise markers")

// Todo is one gap the starter leaves for the learner.
type Todo struct {
	// N is the TODO's number, counted from 1 in the order of the source.
	N int
	// Hint is what to write there, on one line.
	Hint string
	// Line is where the starter's "TODO N" comment starts (from 1).
	Line int
}

// Program is a marked source taken apart.
type Program struct {
	// Solution is the source without its markers.
	Solution []byte
	// Starter has a "/* TODO N: hint */" comment and the else lines in
	// place of each marked region.
	Starter []byte
	Todos   []Todo
}

var todoOpen = regexp.MustCompile(`^/\* xdplab:todo ([0-9]+): (.*)$`)

// region states while reading a source.
const (
	outside = iota
	inSolution
	inElse
)

// Derive takes a marked source apart; name is the file's name for errors.
// A go:build line at the top (lab sources carry one so that Go leaves them
// alone) is not part of either program.
func Derive(name string, src []byte) (*Program, error) {
	lines := strings.SplitAfter(string(src), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var sol, start strings.Builder
	var todos []Todo
	state, openedAt := outside, 0
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrMarker, name, line, fmt.Sprintf(format, args...))
	}
	startLine := 1 // the next line of the starter
	emitStarter := func(s string) {
		start.WriteString(s)
		startLine += strings.Count(s, "\n")
	}
	first := 0
	if len(lines) > 0 && strings.HasPrefix(lines[0], "//go:build ") {
		first = 1
		if len(lines) > 1 && strings.TrimSpace(lines[1]) == "" {
			first = 2
		}
	}
	for i := first; i < len(lines); i++ {
		line, n := lines[i], i+1
		text := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(text, "/* "+markTodo):
			if state != outside {
				return nil, fail(n, "%s inside the TODO opened at line %d: markers do not nest; close it with %s first", markTodo, openedAt, markEnd)
			}
			// The marker comment runs to the first */, which may be lines on.
			j := i
			for !strings.Contains(lines[j], "*/") {
				if j++; j == len(lines) {
					return nil, fail(n, "the %s comment is never closed with */", markTodo)
				}
			}
			comment := strings.Join(lines[i:j+1], "")
			m := todoOpen.FindStringSubmatch(strings.TrimSpace(lines[i]))
			if m == nil {
				return nil, fail(n, "a TODO marker reads `/* %s N: hint */`, got %q", markTodo, text)
			}
			num, _ := strconv.Atoi(m[1]) // digits; a number too large to parse is out of order below
			if want := len(todos) + 1; num != want {
				return nil, fail(n, "TODO %d where TODO %d comes next: number the TODOs 1, 2, 3... in the order of the file", num, want)
			}
			if !strings.HasSuffix(strings.TrimSpace(comment), "*/") {
				return nil, fail(j+1, "code after the %s comment's */: a marker stands alone on its lines", markTodo)
			}
			hint := hintText(comment)
			if hint == "" {
				return nil, fail(n, "TODO %d has no hint: say what the learner writes there", num)
			}
			todos = append(todos, Todo{N: num, Hint: hint, Line: startLine})
			emitStarter(strings.Replace(comment, markTodo, "TODO", 1))
			state, openedAt, i = inSolution, n, j
		case text == markElse:
			switch state {
			case outside:
				return nil, fail(n, "%s outside a TODO: it belongs between %s N and %s", markElse, markTodo, markEnd)
			case inElse:
				return nil, fail(n, "a second %s in the TODO opened at line %d", markElse, openedAt)
			}
			state = inElse
		case text == markEnd:
			if state == outside {
				return nil, fail(n, "%s without a %s before it", markEnd, markTodo)
			}
			state = outside
		case strings.Contains(text, markTodo) || strings.Contains(text, "xdplab:else") || strings.Contains(text, "xdplab:end"):
			return nil, fail(n, "a marker stands alone on its line, written exactly as `/* %s N: hint */`, `%s` or `%s`: got %q", markTodo, markElse, markEnd, text)
		default:
			switch state {
			case outside:
				sol.WriteString(line)
				emitStarter(line)
			case inSolution:
				sol.WriteString(line)
			case inElse:
				// The starter's lines are commented out, so that the marked
				// source compiles as the solution.
				at := strings.Index(line, "//")
				if text != "" && !strings.HasPrefix(text, "//") {
					return nil, fail(n, "the starter's lines between %s and %s are commented out with //, so that the marked source compiles as the solution: got %q", markElse, markEnd, text)
				}
				if at >= 0 {
					line = line[:at] + strings.TrimPrefix(line[at+2:], " ")
				}
				if strings.TrimSpace(line) == "" {
					line = strings.TrimLeft(line, " \t") // a blank line, without the indentation
				}
				emitStarter(line)
			}
		}
	}
	if state != outside {
		return nil, fail(openedAt, "the TODO opened here is never closed with %s", markEnd)
	}
	return &Program{Solution: []byte(sol.String()), Starter: []byte(start.String()), Todos: todos}, nil
}

// hintText is a TODO marker comment's hint on one line: the text after
// "N:", without the comment's delimiters and continuation stars.
func hintText(comment string) string {
	_, after, _ := strings.Cut(comment, ":") // "xdplab:todo"
	_, after, _ = strings.Cut(after, ":")    // "N:"
	after, _, _ = strings.Cut(after, "*/")
	var words []string
	for _, l := range strings.Split(after, "\n") {
		l = strings.TrimSpace(l)
		l = strings.TrimSpace(strings.TrimPrefix(l, "*"))
		if l != "" {
			words = append(words, l)
		}
	}
	return strings.Join(words, " ")
}
