package topology

import (
	"fmt"
	"io"
	"strings"
)

// Annotation adds a note to an interface in a picture (e.g. "xdp: packet_count").
type Annotation map[string]string // key: node/iface

func endpointLabel(e ResolvedEndpoint) string {
	addr := "no address"
	if e.Addr.IsValid() {
		addr = e.Addr.String()
	}
	return fmt.Sprintf("%s %s", e.Iface, addr)
}

// WriteText draws the topology for a terminal: one block per node, then the
// links between them.
func (r *Resolved) WriteText(w io.Writer, notes Annotation) {
	fmt.Fprintf(w, "topology %s (instance %s)\n", r.Spec.Name, r.Instance)
	for _, n := range r.Nodes {
		fmt.Fprintf(w, "  [%s]  netns %s\n", n.Name, n.Namespace)
		for _, l := range r.Links {
			for _, e := range []ResolvedEndpoint{l.A, l.B} {
				if e.Node != n.Name {
					continue
				}
				note := notes[e.Node+"/"+e.Iface]
				if note != "" {
					note = "   <- " + note
				}
				fmt.Fprintf(w, "      %-24s %s%s\n", endpointLabel(e), e.MAC, note)
			}
		}
		for _, rt := range n.Routes {
			fmt.Fprintf(w, "      route %s via %s\n", rt.Dst, rt.Via)
		}
	}
	fmt.Fprintln(w, "  links:")
	for _, l := range r.Links {
		fmt.Fprintf(w, "    %s:%s ==== %s:%s\n", l.A.Node, endpointLabel(l.A), l.B.Node, endpointLabel(l.B))
	}
}

// WriteDot draws the topology in Graphviz dot.
func (r *Resolved) WriteDot(w io.Writer, notes Annotation) {
	fmt.Fprintf(w, "graph %q {\n  node [shape=box];\n", r.Spec.Name)
	for _, n := range r.Nodes {
		fmt.Fprintf(w, "  %q [label=%q];\n", n.Name, n.Name+"\\n"+n.Namespace)
	}
	for _, l := range r.Links {
		fmt.Fprintf(w, "  %q -- %q [taillabel=%q, headlabel=%q];\n", l.A.Node, l.B.Node,
			label(l.A, notes), label(l.B, notes))
	}
	fmt.Fprintln(w, "}")
}

// WriteMermaid draws the topology as a Mermaid flowchart (renders on GitHub).
func (r *Resolved) WriteMermaid(w io.Writer, notes Annotation) {
	fmt.Fprintln(w, "flowchart LR")
	for _, n := range r.Nodes {
		fmt.Fprintf(w, "  %s[\"%s<br/>%s\"]\n", n.Name, n.Name, n.Namespace)
	}
	for _, l := range r.Links {
		fmt.Fprintf(w, "  %s ---|\"%s ⟷ %s\"| %s\n", l.A.Node,
			strings.ReplaceAll(label(l.A, notes), "\\n", " "),
			strings.ReplaceAll(label(l.B, notes), "\\n", " "), l.B.Node)
	}
}

func label(e ResolvedEndpoint, notes Annotation) string {
	s := endpointLabel(e)
	if n := notes[e.Node+"/"+e.Iface]; n != "" {
		s += "\\n" + n
	}
	return s
}
