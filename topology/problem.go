package topology

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a topology, located by the field it is
// about and the node it concerns, and in a file by its line.
type Problem struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Field is the path of the field, e.g. nodes[1].routes[0].via.
	Field string `json:"field,omitempty"`
	Node  string `json:"node,omitempty"`
	Msg   string `json:"message"`
}

// String spells the problem as compilers do, so that editors jump to it:
// "lab.yaml:12: nodes[1].routes[0].via (node node1): route via ...".
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	switch {
	case p.Field != "" && p.Node != "":
		fmt.Fprintf(&b, "%s (node %s): ", p.Field, p.Node)
	case p.Field != "":
		b.WriteString(p.Field + ": ")
	case p.Node != "":
		fmt.Fprintf(&b, "node %s: ", p.Node)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// InvalidError is a topology that failed decoding or validation, with every
// problem found, not only the first. errors.Is(err, ErrInvalid) holds.
type InvalidError struct {
	// File is the file it came from; "" for a spec built in Go.
	File     string
	Name     string
	Problems []Problem
}

func (e *InvalidError) Error() string {
	what := fmt.Sprintf("%q", e.Name)
	if e.File != "" {
		what = e.File
	}
	if len(e.Problems) == 1 {
		if e.File != "" {
			return "invalid topology: " + e.Problems[0].String() // it names the file
		}
		return fmt.Sprintf("invalid topology %s: %s", what, e.Problems[0])
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid topology %s (%d problems):\n%s", what, len(e.Problems), strings.Join(lines, "\n"))
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }
