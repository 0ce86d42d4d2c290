package topology

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Limits on what a file generates, so that a typo in a size is an error and
// not a machine out of memory.
const (
	maxSize      = 4096
	maxGenerated = 20000 // nodes and links, all repeat blocks together
)

// expand turns a file into its spec. A file with a size or repeat blocks is
// a shape: its strings are templates, in which {size}, and inside a repeat
// block {i}, with integer arithmetic ({i+1}, {i/256}, {i%256}), are replaced
// by their values; each repeat block adds its nodes and links once for every
// i from its from to its to. size replaces the file's size when it is not 0.
// origin maps a generated node or link ("nodes[5]") to its template
// ("repeat[0].nodes[0]"), where its problems are found in the file.
func (f fileSpec) expand(size int) (Spec, map[string]string, []Problem) {
	if size != 0 && f.Size == nil {
		return Spec{}, nil, []Problem{{Msg: fmt.Sprintf("topology %s has no size field: it is not a shape whose size can be set", f.Name)}}
	}
	if f.Size == nil && len(f.Repeat) == 0 {
		return f.Spec, nil, nil
	}
	x := expander{vars: map[string]int{}, origin: map[string]string{}, failed: map[string]bool{}}
	if f.Size != nil {
		n := *f.Size
		if size != 0 {
			n = size
		}
		if n < 1 || n > maxSize {
			x.fail("size", "size %d: want 1 to %d", n, maxSize)
			return Spec{}, nil, x.probs
		}
		x.vars["size"] = n
	}
	s := Spec{Name: x.str(f.Name, "name"), StaticNeighbors: f.StaticNeighbors}
	for i, n := range f.Nodes {
		s.Nodes = append(s.Nodes, x.node(n, fmt.Sprintf("nodes[%d]", i)))
	}
	for i, l := range f.Links {
		s.Links = append(s.Links, x.link(l, fmt.Sprintf("links[%d]", i)))
	}
	if f.Roles != nil {
		s.Roles = map[string]string{}
		for _, k := range sortedKeys(f.Roles) {
			s.Roles[k] = x.str(f.Roles[k], "roles."+k)
		}
	}
	for k, r := range f.Repeat {
		at := fmt.Sprintf("repeat[%d]", k)
		from, okFrom := x.bound(r.From, at+".from")
		to, okTo := x.bound(r.To, at+".to")
		if !okFrom || !okTo {
			continue
		}
		if n := (to - from + 1) * (len(r.Nodes) + len(r.Links)); n > maxGenerated-len(s.Nodes)-len(s.Links) {
			x.fail(at, "i from %d to %d makes %d nodes and links: at most %d in all", from, to, n, maxGenerated)
			continue
		}
		for i := from; i <= to; i++ {
			x.vars["i"] = i
			for j, n := range r.Nodes {
				tmpl := fmt.Sprintf("%s.nodes[%d]", at, j)
				x.origin[fmt.Sprintf("nodes[%d]", len(s.Nodes))] = tmpl
				s.Nodes = append(s.Nodes, x.node(n, tmpl))
			}
			for j, l := range r.Links {
				tmpl := fmt.Sprintf("%s.links[%d]", at, j)
				x.origin[fmt.Sprintf("links[%d]", len(s.Links))] = tmpl
				s.Links = append(s.Links, x.link(l, tmpl))
			}
		}
		delete(x.vars, "i")
	}
	return s, x.origin, x.probs
}

type expander struct {
	vars   map[string]int
	origin map[string]string
	probs  []Problem
	failed map[string]bool // template fields already reported
}

func (x *expander) fail(field, format string, args ...any) {
	if x.failed[field] {
		return // a bad template in a repeat block is reported once, not once per i
	}
	x.failed[field] = true
	x.probs = append(x.probs, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (x *expander) str(s, field string) string {
	out, err := substitute(s, x.vars)
	if err != nil {
		x.fail(field, "template %q: %v", s, err)
		return s
	}
	return out
}

func (x *expander) bound(expr, field string) (int, bool) {
	if strings.TrimSpace(expr) == "" {
		x.fail(field, "missing: the first (from) and last (to) value of i, e.g. from: 0, to: size-1")
		return 0, false
	}
	v, err := eval(expr, x.vars)
	if err != nil {
		x.fail(field, "%q: %v", expr, err)
		return 0, false
	}
	return v, true
}

func (x *expander) node(n Node, at string) Node {
	out := Node{Name: x.str(n.Name, at+".name"), Forward: n.Forward, IPv6: n.IPv6}
	if n.Sysctls != nil {
		out.Sysctls = map[string]string{}
		for _, k := range sortedKeys(n.Sysctls) {
			out.Sysctls[k] = x.str(n.Sysctls[k], at+".sysctls."+k)
		}
	}
	for i, r := range n.Routes {
		rat := fmt.Sprintf("%s.routes[%d]", at, i)
		out.Routes = append(out.Routes, Route{Dst: x.str(r.Dst, rat+".dst"), Via: x.str(r.Via, rat+".via")})
	}
	return out
}

func (x *expander) link(l Link, at string) Link {
	end := func(e Endpoint, at string) Endpoint {
		return Endpoint{Node: x.str(e.Node, at+".node"), Iface: x.str(e.Iface, at+".iface"), Addr: x.str(e.Addr, at+".addr")}
	}
	return Link{A: end(l.A, at+".a"), B: end(l.B, at+".b")}
}

// substitute replaces every {expression} in s by its value.
func substitute(s string, vars map[string]int) (string, error) {
	if !strings.ContainsAny(s, "{}") {
		return s, nil
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("%q has no closing }", s[open:])
		}
		v, err := eval(s[open+1:open+end], vars)
		if err != nil {
			return "", err
		}
		b.WriteString(s[:open])
		b.WriteString(strconv.Itoa(v))
		s = s[open+end+1:]
	}
	if strings.IndexByte(s, '}') >= 0 {
		return "", fmt.Errorf("a } with no { before it")
	}
	b.WriteString(s)
	return b.String(), nil
}

// eval computes an integer expression: numbers, names of vars, + - * / %
// and parentheses, with the usual precedence; / and % are Go's.
func eval(expr string, vars map[string]int) (int, error) {
	p := exprParser{s: expr, vars: vars}
	v := p.sum()
	if p.err == nil && p.peek() != 0 {
		p.err = fmt.Errorf("unexpected %q", p.s[p.pos:])
	}
	if p.err != nil {
		return 0, p.err
	}
	return v, nil
}

type exprParser struct {
	s    string
	pos  int
	vars map[string]int
	err  error
}

// peek skips blanks and returns the next byte, 0 at the end.
func (p *exprParser) peek() byte {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
	if p.pos >= len(p.s) {
		return 0
	}
	return p.s[p.pos]
}

func (p *exprParser) sum() int {
	v := p.product()
	for p.err == nil {
		switch p.peek() {
		case '+':
			p.pos++
			v += p.product()
		case '-':
			p.pos++
			v -= p.product()
		default:
			return v
		}
	}
	return v
}

func (p *exprParser) product() int {
	v := p.factor()
	for p.err == nil {
		op := p.peek()
		if op != '*' && op != '/' && op != '%' {
			return v
		}
		p.pos++
		w := p.factor()
		switch {
		case p.err != nil:
		case op == '*':
			v *= w
		case w == 0:
			p.err = fmt.Errorf("division by zero")
		case op == '/':
			v /= w
		default:
			v %= w
		}
	}
	return v
}

func (p *exprParser) factor() int {
	c := p.peek()
	switch {
	case c == '(':
		p.pos++
		v := p.sum()
		if p.err == nil && p.peek() != ')' {
			p.err = fmt.Errorf("missing )")
		}
		p.pos++
		return v
	case c == '-':
		p.pos++
		return -p.factor()
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
		v, err := strconv.Atoi(p.s[start:p.pos])
		if err != nil {
			p.err = fmt.Errorf("number %s: too large", p.s[start:p.pos])
		}
		return v
	case c >= 'a' && c <= 'z':
		start := p.pos
		for p.pos < len(p.s) && (p.s[p.pos] >= 'a' && p.s[p.pos] <= 'z' || p.s[p.pos] == '_') {
			p.pos++
		}
		name := p.s[start:p.pos]
		v, ok := p.vars[name]
		if !ok {
			p.err = fmt.Errorf("unknown name %q (%s)", name, known(p.vars))
		}
		return v
	case c == 0:
		p.err = fmt.Errorf("expression ends too soon")
	default:
		p.err = fmt.Errorf("unexpected %q", p.s[p.pos:])
	}
	return 0
}

func known(vars map[string]int) string {
	if len(vars) == 0 {
		return "no names here: size needs a size field, i a repeat block"
	}
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return "names here: " + strings.Join(names, ", ")
}
