package topology

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// parseProblems parses a file that must be invalid and returns its problems
// as the user reads them, one per line.
func parseProblems(t *testing.T, text string) []string {
	t.Helper()
	_, err := Parse("lab.yaml", []byte(text))
	var inv *InvalidError
	if !errors.As(err, &inv) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse = %v, want an *InvalidError", err)
	}
	var lines []string
	for _, p := range inv.Problems {
		lines = append(lines, p.String())
	}
	return lines
}

func wantProblems(t *testing.T, text string, want ...string) {
	t.Helper()
	got := parseProblems(t, text)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const validFile = `name: lab
nodes:
  - name: host
  - name: node1
    forward: true
links:
  - a: {node: host, iface: veth0, addr: 192.168.0.3/24}
    b: {node: node1, iface: veth1, addr: 192.168.0.2/24}
`

func TestParseValid(t *testing.T) {
	s, err := Parse("lab.yaml", []byte(validFile))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Name:  "lab",
		Nodes: []Node{{Name: "host"}, {Name: "node1", Forward: true}},
		Links: []Link{{A: Endpoint{"host", "veth0", "192.168.0.3/24"}, B: Endpoint{"node1", "veth1", "192.168.0.2/24"}}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

// TestParseStrict: what the decoder would silently drop or coerce is an
// error that names the line, the field and the node.
func TestParseStrict(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"unknown top-level field", "name: lab\nnodez: []\nnodes: [{name: a}]\n",
			[]string{`lab.yaml:2: nodez: unknown field "nodez" (a topology has: name, nodes, links, static_neighbors, roles, size, repeat)`}},
		{"unknown node field", "name: lab\nnodes:\n  - name: node1\n    forwad: true\n",
			[]string{`lab.yaml:4: nodes[0].forwad (node node1): unknown field "forwad" (a node has: name, forward, ipv6, sysctls, routes)`}},
		{"unknown endpoint field", strings.Replace(validFile, "iface: veth1,", "ifname: veth1,", 1),
			[]string{
				`lab.yaml:8: links[0].b.ifname (node node1): unknown field "ifname" (a link end has: node, iface, addr)`,
			}},
		{"not a bool", "name: lab\nnodes:\n  - name: node1\n    forward: yes\n",
			[]string{`lab.yaml:4: nodes[0].forward (node node1): want true or false, got "yes"`}},
		{"list where a mapping goes", "name: lab\nnodes:\n  - [node1]\n",
			[]string{`lab.yaml:3: nodes[0]: want a mapping (field: value), got a list`}},
		{"mapping where a list goes", "name: lab\nnodes: {name: node1}\n",
			[]string{`lab.yaml:2: nodes: want a list, got a mapping (field: value)`}},
		{"key twice", "name: lab\nnodes:\n  - name: node1\n    name: node2\n",
			[]string{`lab.yaml:4: nodes[0].name (node node2): given twice (first on line 3)`}},
		{"size not a number", "name: lab\nsize: many\nnodes: [{name: a}]\n",
			[]string{`lab.yaml:2: size: want a whole number, got "many"`}},
		{"syntax", "name: lab\nnodes:\n  - name: a\n   bad: [\n",
			nil}, // checked below: the parser's words, with the line
		{"empty", "# nothing\n", []string{"lab.yaml: empty file: a topology needs at least a name and nodes"}},
		{"two documents", "name: lab\nnodes: [{name: a}]\n---\nname: other\n",
			[]string{"lab.yaml:3: a second YAML document (after ---): put one topology in a file"}},
		{"no name", "nodes: [{name: a}]\n",
			[]string{"lab.yaml: name: missing: name the topology, e.g. `name: lab` (lowercase letters, digits or '_')"}},
		{"bad name", "name: My-Lab\nnodes: [{name: a}]\n",
			[]string{`lab.yaml:1: name: topology name "My-Lab": want lowercase letters, digits or '_', at most 20, a letter first`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want != nil {
				wantProblems(t, c.text, c.want...)
				return
			}
			got := parseProblems(t, c.text)
			if len(got) != 1 || !strings.HasPrefix(got[0], "lab.yaml:2: ") || !strings.HasSuffix(got[0], "(YAML syntax)") {
				t.Errorf("syntax error: %q", got)
			}
		})
	}
}

// TestParseValidation: each validation error names the file, the line of
// the field, the field and the node, and every error is reported at once,
// in line order.
func TestParseValidation(t *testing.T) {
	data, err := os.ReadFile("testdata/broken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("broken.yaml", data)
	want := `invalid topology broken.yaml (3 problems):
broken.yaml:6: nodes[0].routes[0].via (node node1): route via 10.0.0.1: gateway is not on any of its links (its addresses: 192.168.7.1/24, 192.168.8.1/24)
broken.yaml:11: links[1].a.iface (node node1): interface name "veth-with-a-very-long-name": 1-15 characters, letters first
broken.yaml:12: links[1].b.node: unknown node "node3" (nodes: node1, node2)`
	if err == nil || err.Error() != want {
		t.Errorf("Parse = %v\nwant %s", err, want)
	}

	cases := []struct{ name, from, to, want string }{
		{"node name", "  - name: node1\n", "  - name: Node1\n", `lab.yaml:4: nodes[1].name: node name "Node1"`},
		{"address", "addr: 192.168.0.2/24}", "addr: 192.168.0.2}", `lab.yaml:8: links[0].b.addr (node node1): address "192.168.0.2": want IPv4 with prefix length, e.g. 192.168.0.2/24`},
		{"missing address is fine", "addr: 192.168.0.2/24", "addr: ''", ""},
		{"duplicate interface", "links:\n", "links:\n  - a: {node: host, iface: veth0}\n    b: {node: node1, iface: veth9}\n", `lab.yaml:9: links[1].a.iface (node host): interface host/veth0 used twice`},
		{"sysctl", "    forward: true\n", "    sysctls: {kernel.panic: \"1\"}\n", `lab.yaml:5: nodes[1].sysctls.kernel.panic (node node1): sysctl "kernel.panic": only net.* keys are per namespace`},
		{"route dst", "    forward: true\n", "    routes: [{dst: 10.0.0.0/33, via: 192.168.0.3}]\n", `lab.yaml:5: nodes[1].routes[0].dst (node node1): route destination "10.0.0.0/33": want a CIDR, e.g. 10.0.0.0/8`},
		{"route via", "    forward: true\n", "    routes:\n      - dst: 10.0.0.0/8\n        via: 10.0.0.1\n", "lab.yaml:7: nodes[1].routes[0].via (node node1): route via 10.0.0.1: gateway is not on any of its links (its addresses: 192.168.0.2/24)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := strings.Replace(validFile, c.from, c.to, 1)
			if text == validFile {
				t.Fatalf("%q not in the file", c.from)
			}
			_, err := Parse("lab.yaml", []byte(text))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
	roles := validFile + "roles:\n  sender: host/veth0\n  dut: node1/veth7\n"
	wantProblems(t, roles, `lab.yaml:11: roles.dut: role dut: "node1/veth7" is not an interface of the topology (want node/iface, e.g. host/veth0)`)
}

func TestShapeTemplates(t *testing.T) {
	head := "name: t{size}\nsize: 3\n"
	cases := []struct{ name, text, want string }{
		{"unknown name", head + "nodes: [{name: \"n{j}\"}]\n", `lab.yaml:3: nodes[0].name: template "n{j}": unknown name "j" (names here: size)`},
		{"i outside repeat", head + "nodes:\n  - name: n{i}\n", `lab.yaml:4: nodes[0].name: template "n{i}": unknown name "i" (names here: size)`},
		{"unclosed", head + "repeat:\n  - from: 0\n    to: size\n    nodes: [{name: \"n{i\"}]\n", `lab.yaml:6: repeat[0].nodes[0].name: template "n{i": "{i" has no closing }`},
		{"division by zero", head + "repeat:\n  - from: 0\n    to: size\n    nodes: [{name: \"n{i/(i-i)}\"}]\n", `lab.yaml:6: repeat[0].nodes[0].name: template "n{i/(i-i)}": division by zero`},
		{"no to", head + "repeat:\n  - from: 0\n    nodes: [{name: \"n{i}\"}]\n", `lab.yaml:4: repeat[0].to: missing: the first (from) and last (to) value of i, e.g. from: 0, to: size-1`},
		{"bad bound", head + "repeat:\n  - from: 0\n    to: size-\n    nodes: [{name: \"n{i}\"}]\n", `lab.yaml:5: repeat[0].to: "size-": expression ends too soon`},
		{"too many", head + "repeat:\n  - from: 0\n    to: 100000\n    nodes: [{name: \"n{i}\"}]\n", `lab.yaml:4: repeat[0]: i from 0 to 100000 makes 100001 nodes and links: at most 20000 in all`},
		{"size too big", "name: t\nsize: 100000\nnodes: [{name: a}]\n", `lab.yaml:2: size: size 100000: want 1 to 4096`},
		// A problem in a generated node is found at its template's line and
		// named by the generated node.
		{"generated node", head + "repeat:\n  - from: 0\n    to: size-1\n    nodes:\n      - name: n{i}\n        sysctls: {kernel.x: \"{i}\"}\n",
			`lab.yaml:8: nodes[0].sysctls.kernel.x (node n0): sysctl "kernel.x": only net.* keys are per namespace`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseProblems(t, c.text)
			if len(got) == 0 || got[0] != c.want {
				t.Errorf("problems:\n%s\nwant first:\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
	if v, err := eval("(size - 1) * 2 + i % 256 / 2", map[string]int{"size": 5, "i": 300}); err != nil || v != 30 {
		t.Errorf("eval = %d, %v; want 30", v, err)
	}
	if _, err := Scaled("pair", 3); err == nil || !strings.Contains(err.Error(), "topology pair has no size field") {
		t.Errorf("Scaled(pair): %v", err)
	}
	if _, err := Scaled("line", 0); err == nil {
		t.Error("Scaled(line, 0) accepted")
	}
}

// TestShapesAsBefore: the embedded shapes give exactly the specs the Go
// functions they replace (topology.Line and topology.Star) built: these are
// the SHA-256 sums of those specs' JSON.
func TestShapesAsBefore(t *testing.T) {
	for _, c := range []struct {
		shape string
		size  int
		sum   string
	}{
		{"line", 1, "dac79265f5a9512ea2bf610222ef9b7e385a4b7066a86c59e8eadd61c4ef12a7"},
		{"star", 1, "ea4fbd20357ed9614ef8e3c6753b849fbc078eb67268a97b28acc3af361bd0c7"},
		{"line", 2, "e97936942dd760e7aa415d220bd32354b2031c15a761ca3d22f4d0ff80eeaa39"},
		{"star", 2, "7281bb92848ae576a6eab5dd11bc30642b3886ca0e309f0f506eb221a9e010a3"},
		{"line", 8, "e4353b3d1799f15a6ca4283e6d9c28d3f433cfd43f500682c733514e28b1c6a0"},
		{"star", 8, "ff577aa2ebebcdae785204614de2b694729d12d26c4e27ff3603397a0b944ae9"},
		{"line", 32, "53c31bfcf922d9948c3a8157c9e9e2448a2beff5afbb19a085d4735387cd6833"},
		{"star", 32, "2799bc9fb827a760dc68600763b5d36c2bd23806a9c679a3e9db5a2ff1b4e2fe"},
		{"line", 128, "61d997e3674f4b980b76d3c41898f38521ac1ee89eb7e6a4c6b6a6e30bad71e2"},
		{"star", 128, "f1cf3b96ac686e92925d3a02d4186a5aa12a9990faddf0f49938d70fae27406d"},
		{"line", 300, "cc1ab0c936025f906bdafa081c71b4d88ef99acbc29ab04192443b87feaa32d7"},
		{"star", 300, "faa5b7dd6b3aba40b22468f049bece750aabcbc9147aeb209c126fb81f6cf0ea"},
	} {
		s, err := Scaled(c.shape, c.size)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(s)
		if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != c.sum {
			t.Errorf("%s %d differs from what topology.%s(%d) built", c.shape, c.size, strings.ToUpper(c.shape[:1])+c.shape[1:], c.size)
		}
	}
}

// TestEmbedded: every embedded file decodes and validates (Pair and
// Redirect panic otherwise), and what a caller gets is its own copy.
func TestEmbedded(t *testing.T) {
	names := EmbeddedNames()
	if strings.Join(names, " ") != "line pair redirect single star" {
		t.Errorf("embedded: %v", names)
	}
	for _, n := range names {
		if _, err := Embedded(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := Embedded("../pair"); err == nil || !strings.Contains(err.Error(), `no embedded topology "../pair" (have: line, pair, redirect, single, star)`) {
		t.Errorf("Embedded(../pair): %v", err)
	}
	p := Pair()
	p.Nodes[0].Name = "changed"
	p.Roles["sender"] = "changed"
	if q := Pair(); q.Nodes[0].Name != "host" || q.Roles["sender"] != "host/veth0" {
		t.Errorf("a change to one Pair() shows in the next: %+v", q)
	}
}
