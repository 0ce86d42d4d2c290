package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/course"
)

const (
	playgroundFile = "../../topology/testdata/playground.yaml"
	brokenFile     = "../../topology/testdata/broken.yaml"
)

// TestTopoValidate: exit 0 and a one-line summary for a good file; exit 2
// and every problem, each with its file and line, otherwise. No root needed.
func TestTopoValidate(t *testing.T) {
	asNobody := func(args ...string) result {
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		return xdplabCmd(t, cmd)
	}
	dir, err := os.MkdirTemp("", "xdplab-topo-test") // nobody reaches it, unlike t.TempDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	good, broken := filepath.Join(dir, "lab.yaml"), filepath.Join(dir, "broken.yaml")
	for from, to := range map[string]string{playgroundFile: good, brokenFile: broken} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"topo", "validate", good}, {"topo", "validate", good, "--instance", "t1"}} {
		if r := asNobody(args...); r.code != 0 || r.stdout != good+": ok (3 nodes, 2 links)\n" {
			t.Errorf("good file: %s", r)
		}
	}
	r := asNobody("topo", "validate", broken)
	wantError(t, r,
		"invalid topology "+broken+" (3 problems):\n",
		broken+":6: nodes[0].routes[0].via (node node1): route via 10.0.0.1: gateway is not on any of its links",
		broken+`:11: links[1].a.iface (node node1): interface name "veth-with-a-very-long-name": 1-15 characters`,
		broken+`:12: links[1].b.node: unknown node "node3" (nodes: node1, node2)`)
	wantError(t, asNobody("topo", "validate", filepath.Join(dir, "none.yaml")), "topology file "+filepath.Join(dir, "none.yaml")+": no such file or directory")
	wantError(t, asNobody("topo", "validate"), "usage: xdplab topo validate FILE")
	// The file drawn, and a lab beside it: one document.
	r = asNobody("topo", good, "redirect", "--format", "text")
	if r.code != 0 || !strings.Contains(r.stdout, "# routed\ntopology routed (instance xdplab)\n  [client]  netns xdplab-routed-client\n") || !strings.Contains(r.stdout, "\n# redirect\n") {
		t.Errorf("topo FILE redirect: %s", r)
	}
	wantError(t, asNobody("topo", broken), broken+":6: ")
	wantError(t, asNobody("topo", "nosuchlab"), `unknown lab "nosuchlab"`, "or give the path of a topology file (YAML)")
	wantError(t, asNobody("topo", "--format", "svg"), `--format: format "svg": want text, dot or mermaid`)
}

// TestTopoOneDocument: `topo` with no argument draws every lab as one
// document per format, which graphviz and a mermaid reader take whole.
func TestTopoOneDocument(t *testing.T) {
	labCount := len(course.Registry().Names())

	dot := mustSucceed(t, xdplab(t, "xdplab", "topo", "--format", "dot")).stdout
	if n := strings.Count("\n"+dot, "\ngraph "); n != 1 {
		t.Errorf("%d graphs, want one:\n%s", n, dot)
	}
	if n := strings.Count(dot, "subgraph \"cluster_"); n != labCount {
		t.Errorf("%d clusters for %d labs", n, labCount)
	}
	if strings.Contains(dot, `\\n`) {
		t.Errorf("an escaped backslash in a label, which graphviz draws:\n%s", dot)
	}
	requireTool(t, "dot")
	cmd := exec.Command("dot", "-Tsvg")
	cmd.Stdin = strings.NewReader(dot)
	var svg, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &svg, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("dot refused the output: %v\n%s", err, errb.String())
	}
	if n := strings.Count(svg.String(), "<svg "); n != 1 || strings.Contains(svg.String(), `\n`) {
		t.Errorf("graphviz drew %d pictures, or a literal \\n", n)
	}

	mermaid := mustSucceed(t, xdplab(t, "xdplab", "topo", "--format", "mermaid")).stdout
	if !strings.HasPrefix(mermaid, "flowchart LR\n") || strings.Count(mermaid, "flowchart") != 1 {
		t.Errorf("want one flowchart header:\n%s", mermaid)
	}
	if n := strings.Count(mermaid, "\n  subgraph "); n != labCount || strings.Count(mermaid, "\n  end\n") != labCount {
		t.Errorf("%d subgraphs for %d labs:\n%s", n, labCount, mermaid)
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+)\[`).FindAllStringSubmatch(mermaid, -1) {
		if ids[m[1]] {
			t.Errorf("node ID %s declared twice", m[1])
		}
		ids[m[1]] = true
	}
	if len(ids) == 0 {
		t.Errorf("no nodes:\n%s", mermaid)
	}
}

// TestPlaygroundCLI: up --topology builds the file's topology with no lab;
// list, status, exec and traffic see it; check says there is nothing to
// check; down removes it, leaving nothing.
func TestPlaygroundCLI(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "ping")
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })

	wantError(t, xdplab(t, inst, "up", "redirect", "--topology", playgroundFile), "--topology builds a playground, with no lab: give no lab name (got redirect)")
	wantError(t, xdplab(t, inst, "up", "--topology", playgroundFile, "--mode", "native"), "a playground has none")
	wantError(t, xdplab(t, inst, "up", "--topology", brokenFile), "invalid topology "+brokenFile+" (3 problems)")

	up := mustSucceed(t, xdplab(t, inst, "up", "--topology", playgroundFile))
	for _, want := range []string{
		"playground routed is up (instance " + inst + ")",
		"[router]  netns " + inst + "-routed-router",
		"sudo xdplab exec --instance " + inst + " routed/client -- ping -c 3 10.0.1.1",
		"sudo xdplab down routed --instance " + inst,
	} {
		if !strings.Contains(up.stdout, want) {
			t.Errorf("up lacks %q:\n%s", want, up.stdout)
		}
	}
	wantError(t, xdplab(t, inst, "up", "--topology", playgroundFile), "a playground named routed is already up in instance "+inst)

	list := mustSucceed(t, xdplab(t, inst, "list")).stdout
	if !regexp.MustCompile(`\n {3}routed +up +playground: 3 nodes, 2 links\n`).MatchString(list) {
		t.Errorf("list lacks the playground under the labs:\n%s", list)
	}
	status := mustSucceed(t, xdplab(t, inst, "status")).stdout
	if !strings.Contains(status, "routed (instance "+inst+", playground: 3 nodes, 2 links)") || !strings.Contains(status, "10.0.2.2/24") {
		t.Errorf("status:\n%s", status)
	}

	// The kernel's view, and traffic across the router.
	if out := run(t, "ip", "-n", inst+"-routed-server", "-4", "addr", "show", "eth0"); !strings.Contains(out, "inet 10.0.2.2/24") {
		t.Errorf("server eth0:\n%s", out)
	}
	if out := run(t, "ip", "-n", inst+"-routed-client", "route"); !strings.Contains(out, "10.0.2.0/24 via 10.0.1.1 dev eth0") {
		t.Errorf("client routes:\n%s", out)
	}
	ping := mustSucceed(t, xdplabCmd(t, exec.Command(bin, "exec", "--instance", inst, "routed/client", "--", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.0.2.2")))
	if !strings.Contains(ping.stdout, "2 received") || !strings.Contains(ping.stdout, "ttl=63") {
		t.Errorf("ping across the router: %s", ping)
	}
	mustSucceed(t, xdplab(t, inst, "traffic", "ping", "--from", "routed/server", "--to", "10.0.1.2", "-c", "2"))
	wantError(t, xdplab(t, inst, "traffic", "ping", "--from", "routed/host", "--to", "10.0.1.2"), `unknown node "host" in playground routed: nodes are client, router, server`)

	wantError(t, xdplab(t, inst, "check", "routed"), "routed is a playground (a topology with no lab): it has nothing to check or watch")
	wantError(t, xdplab(t, inst, "watch", "routed"), "it has nothing to check or watch")
	wantError(t, xdplab(t, inst, "check"), "only the playground routed, and a playground has nothing to check")

	down := mustSucceed(t, xdplab(t, inst, "down", "routed"))
	if down.stdout != "removed routed (instance "+inst+")\n" {
		t.Errorf("down: %s", down)
	}
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("down left %v", left)
	}
	if out := run(t, "ip", "netns", "list"); strings.Contains(out, inst+"-") {
		t.Errorf("ip netns list:\n%s", out)
	}
}
