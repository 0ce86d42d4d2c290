package topology

import (
	"fmt"
	"io"
	"strings"
)

// Annotation adds a note to an interface in a picture (e.g. "xdp: packet_count").
type Annotation map[string]string // key: node/iface

// Drawing is one topology in a picture, with notes on its interfaces.
type Drawing struct {
	*Resolved
	Notes Annotation
}

// Draw writes one document in format (text, dot or mermaid) that holds
// every drawing: with several, dot gets a cluster and mermaid a subgraph per
// topology, so that graphviz and mermaid read the whole output as one graph.
func Draw(w io.Writer, format string, drawings ...Drawing) error {
	switch format {
	case "text":
		for i, d := range drawings {
			if len(drawings) > 1 {
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "# %s\n", d.Lab)
			}
			d.WriteText(w, d.Notes)
		}
	case "dot":
		writeDot(w, drawings)
	case "mermaid":
		writeMermaid(w, drawings)
	default:
		return fmt.Errorf("format %q: want text, dot or mermaid", format)
	}
	return nil
}

func endpointLabel(e ResolvedEndpoint) string {
	addr := "no address"
	if e.Addr.IsValid() {
		addr = e.Addr.String()
	}
	return fmt.Sprintf("%s %s", e.Iface, addr)
}

// labelLines are an interface's label: name and address, then its note.
func labelLines(e ResolvedEndpoint, notes Annotation) []string {
	lines := []string{endpointLabel(e)}
	if n := notes[e.Node+"/"+e.Iface]; n != "" {
		lines = append(lines, n)
	}
	return lines
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

// WriteDot draws the topology alone in Graphviz dot.
func (r *Resolved) WriteDot(w io.Writer, notes Annotation) {
	writeDot(w, []Drawing{{Resolved: r, Notes: notes}})
}

// WriteMermaid draws the topology alone as a Mermaid flowchart.
func (r *Resolved) WriteMermaid(w io.Writer, notes Annotation) {
	writeMermaid(w, []Drawing{{Resolved: r, Notes: notes}})
}

// dotString quotes lines for dot, joined by \n, which graphviz draws as a
// line break (an escaped \\n would be drawn as a backslash and an n).
func dotString(lines ...string) string {
	quoted := make([]string, len(lines))
	for i, l := range lines {
		quoted[i] = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l)
	}
	return `"` + strings.Join(quoted, `\n`) + `"`
}

// writeDot draws in Graphviz dot; node IDs are node names, or lab/node
// with several topologies.
func writeDot(w io.Writer, drawings []Drawing) {
	name := "xdplab"
	if len(drawings) == 1 {
		name = drawings[0].Spec.Name
	}
	fmt.Fprintf(w, "graph %s {\n  node [shape=box];\n", dotString(name))
	for i, d := range drawings {
		id := func(node string) string { return dotString(node) }
		indent := "  "
		if len(drawings) > 1 {
			id = func(node string) string { return dotString(d.Lab + "/" + node) }
			fmt.Fprintf(w, "  subgraph %s {\n    label=%s;\n", dotString(fmt.Sprintf("cluster_%d", i)), dotString(d.Lab))
			indent = "    "
		}
		for _, n := range d.Nodes {
			fmt.Fprintf(w, "%s%s [label=%s];\n", indent, id(n.Name), dotString(n.Name, n.Namespace))
		}
		for _, l := range d.Links {
			fmt.Fprintf(w, "%s%s -- %s [taillabel=%s, headlabel=%s];\n", indent, id(l.A.Node), id(l.B.Node),
				dotString(labelLines(l.A, d.Notes)...), dotString(labelLines(l.B, d.Notes)...))
		}
		if len(drawings) > 1 {
			fmt.Fprintln(w, "  }")
		}
	}
	fmt.Fprintln(w, "}")
}

// mermaidString quotes lines for a mermaid label.
func mermaidString(lines ...string) string {
	quoted := make([]string, len(lines))
	for i, l := range lines {
		quoted[i] = strings.ReplaceAll(l, `"`, "#quot;")
	}
	return `"` + strings.Join(quoted, "<br/>") + `"`
}

// writeMermaid draws a Mermaid flowchart (GitHub renders it). Node IDs are
// t<k>_<node>: unique across topologies, and never mermaid's keyword end.
func writeMermaid(w io.Writer, drawings []Drawing) {
	fmt.Fprintln(w, "flowchart LR")
	for i, d := range drawings {
		id := func(node string) string { return fmt.Sprintf("t%d_%s", i, node) }
		indent := "  "
		if len(drawings) > 1 {
			fmt.Fprintf(w, "  subgraph t%d [%s]\n", i, mermaidString(d.Lab))
			indent = "    "
		}
		for _, n := range d.Nodes {
			fmt.Fprintf(w, "%s%s[%s]\n", indent, id(n.Name), mermaidString(n.Name, n.Namespace))
		}
		for _, l := range d.Links {
			label := strings.Join(labelLines(l.A, d.Notes), " ") + " ⟷ " + strings.Join(labelLines(l.B, d.Notes), " ")
			fmt.Fprintf(w, "%s%s ---|%s| %s\n", indent, id(l.A.Node), mermaidString(label), id(l.B.Node))
		}
		if len(drawings) > 1 {
			fmt.Fprintln(w, "  end")
		}
	}
}
