package topology_test

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/topology"
)

// drawings are three topologies as `xdplab topo` draws every lab: two of
// the same shape (their node names repeat), one with a note, and a node
// named after mermaid's keyword end.
func drawings(t *testing.T) []topology.Drawing {
	t.Helper()
	ends := topology.Pair()
	ends.Name = "ends"
	ends.Nodes[1].Name = "end"
	ends.Links[0].B.Node = "end"
	ends.Roles = nil
	var ds []topology.Drawing
	for _, c := range []struct {
		lab   string
		spec  topology.Spec
		notes topology.Annotation
	}{
		{"packet_counter", topology.Pair(), topology.Annotation{"node1/veth1": `xdp: packet_count "generic"`}},
		{"redirect", topology.Redirect(), nil},
		{"ends", ends, nil},
	} {
		r, err := topology.Resolve(c.spec, "xdplab", c.lab)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, topology.Drawing{Resolved: r, Notes: c.notes})
	}
	return ds
}

// TestDrawDot: graphviz reads the output of several topologies as one
// graph, without a warning, and breaks labels into lines instead of drawing
// a backslash and an n.
func TestDrawDot(t *testing.T) {
	testutils.RequireTool(t, "dot")
	ds := drawings(t)
	for _, set := range [][]topology.Drawing{ds, ds[:1]} {
		var b bytes.Buffer
		if err := topology.Draw(&b, "dot", set...); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count("\n"+b.String(), "\ngraph "); n != 1 || !strings.HasPrefix(b.String(), "graph ") {
			t.Errorf("%d graphs in one document:\n%s", n, b.String())
		}
		if got := strings.Count(b.String(), "subgraph \"cluster_"); len(set) > 1 && got != len(set) {
			t.Errorf("%d clusters for %d topologies:\n%s", got, len(set), b.String())
		}
		cmd := exec.Command("dot", "-Tsvg")
		cmd.Stdin = bytes.NewReader(b.Bytes())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil || errb.Len() > 0 {
			t.Fatalf("dot: %v\n%s\ninput:\n%s", err, errb.String(), b.String())
		}
		svg := out.String()
		if strings.Contains(svg, `\n`) {
			t.Errorf("graphviz drew a literal \\n:\n%s", svg)
		}
		for _, want := range []string{">host</text>", ">xdplab&#45;packet_counter&#45;host</text>", ">xdp: packet_count &quot;generic&quot;</text>"} {
			if !strings.Contains(svg, want) {
				t.Errorf("svg lacks %s", want)
			}
		}
		if len(set) > 1 && !strings.Contains(svg, ">xdplab&#45;ends&#45;end</text>") {
			t.Error("svg lacks the third topology")
		}
	}
}

// TestDrawMermaid: one flowchart, one subgraph per topology, every node ID
// declared once, no ID that mermaid reads as a keyword, and every edge
// between declared nodes.
func TestDrawMermaid(t *testing.T) {
	var b bytes.Buffer
	if err := topology.Draw(&b, "mermaid", drawings(t)...); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != "flowchart LR" || strings.Count(text, "flowchart") != 1 {
		t.Fatalf("want one flowchart header first:\n%s", text)
	}
	nodeDef := regexp.MustCompile(`^\s+(\w+)\["[^"]*"\]$`)
	edge := regexp.MustCompile(`^\s+(\w+) ---\|"[^"]*"\| (\w+)$`)
	subgraph := regexp.MustCompile(`^  subgraph (\w+) \["[^"]*"\]$`)
	ids := map[string]bool{}
	depth, subgraphs := 0, 0
	for _, l := range lines[1:] {
		switch m := nodeDef.FindStringSubmatch(l); {
		case m != nil:
			if ids[m[1]] || m[1] == "end" {
				t.Errorf("node ID %s declared twice or a keyword", m[1])
			}
			ids[m[1]] = true
		case edge.MatchString(l):
			e := edge.FindStringSubmatch(l)
			if !ids[e[1]] || !ids[e[2]] {
				t.Errorf("edge between undeclared nodes: %s", l)
			}
		case subgraph.MatchString(l):
			id := subgraph.FindStringSubmatch(l)[1]
			if ids[id] || depth != 0 {
				t.Errorf("subgraph %s reuses an ID or nests", id)
			}
			ids[id] = true
			depth++
			subgraphs++
		case l == "  end":
			depth--
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if depth != 0 || subgraphs != 3 {
		t.Errorf("subgraphs: %d, open at the end: %d\n%s", subgraphs, depth, text)
	}
	if !strings.Contains(text, "xdp: packet_count #quot;generic#quot;") {
		t.Errorf("the note is missing or its quotes are not escaped:\n%s", text)
	}
}

func TestDrawText(t *testing.T) {
	var b bytes.Buffer
	if err := topology.Draw(&b, "text", drawings(t)[:2]...); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# packet_counter\ntopology pair (instance xdplab)\n", "\n\n# redirect\n", "veth1 192.168.0.2/24     ", "<- xdp: packet_count"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if err := topology.Draw(&b, "svg", drawings(t)...); err == nil || err.Error() != `format "svg": want text, dot or mermaid` {
		t.Errorf("unknown format: %v", err)
	}
}
