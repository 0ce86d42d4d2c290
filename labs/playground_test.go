package labs_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/topology"
)

func loadPlayground(t *testing.T) topology.Spec {
	t.Helper()
	spec, err := topology.Load("../topology/testdata/playground.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPlayground builds the playground of topology/testdata/playground.yaml
// (client - router - server, the router forwarding) with no lab, checks it
// with ip and ping as witnesses, and takes it down again, by name and with
// the whole instance.
func TestPlayground(t *testing.T) {
	testutils.RequirePrivileged(t)
	testutils.RequireTool(t, "ip")
	testutils.RequireTool(t, "ping")
	r := labtest.Runner(t)
	ctx := context.Background()
	t.Cleanup(func() { r.Down(ctx, "") })
	spec := loadPlayground(t)
	if err := r.UpPlayground(ctx, spec); err != nil {
		t.Fatal(err)
	}
	ns := func(node string) string { return topology.NamespaceName(r.Instance, "routed", node) }

	// The kernel's view, read with ip: addresses, routes, forwarding, mark.
	if out := ipOut(t, "-n", ns("client"), "-4", "addr", "show", "eth0"); !strings.Contains(out, "inet 10.0.1.2/24") {
		t.Errorf("client eth0:\n%s", out)
	}
	if out := ipOut(t, "-n", ns("router"), "-4", "addr"); !strings.Contains(out, "inet 10.0.1.1/24") || !strings.Contains(out, "inet 10.0.2.1/24") {
		t.Errorf("router addresses:\n%s", out)
	}
	if out := ipOut(t, "-n", ns("client"), "route"); !strings.Contains(out, "10.0.2.0/24 via 10.0.1.1 dev eth0") {
		t.Errorf("client routes:\n%s", out)
	}
	if out := ipOut(t, "-n", ns("server"), "route"); !strings.Contains(out, "10.0.1.0/24 via 10.0.2.1 dev eth0") {
		t.Errorf("server routes:\n%s", out)
	}
	if out := ipOut(t, "netns", "exec", ns("router"), "cat", "/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(out) != "1" {
		t.Errorf("router ip_forward = %q", out)
	}
	if out := ipOut(t, "-n", ns("server"), "link", "show", "lo"); !strings.Contains(out, "alias xdplab:"+r.Instance+":routed") {
		t.Errorf("server's lo does not carry the mark:\n%s", out)
	}
	// Across the router: the replies come back with one hop taken off.
	out := ipOut(t, "netns", "exec", ns("client"), "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.0.2.2")
	if !strings.Contains(out, "2 received") || !strings.Contains(out, "ttl=63") {
		t.Errorf("ping client -> server across the router:\n%s", out)
	}

	// status and list show it, as a playground.
	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Labs) != 1 || !st.Labs[0].Playground || st.Labs[0].Lab != "routed" || len(st.Labs[0].Nodes) != 3 || st.Troubled() {
		t.Fatalf("status: %+v", st)
	}
	var text strings.Builder
	labs.WriteStatus(&text, st)
	for _, want := range []string{
		"routed (instance " + r.Instance + ", playground: 3 nodes, 2 links)",
		"  router (netns " + ns("router") + ")", "10.0.2.1/24",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, text.String())
		}
	}
	conds, err := r.Conditions()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(conds, func(c labs.Condition) bool { return c.Lab == "routed" })
	if i < 0 || conds[i].State != labs.CondUp || !conds[i].Playground || conds[i].Summary != "3 nodes, 2 links" {
		t.Errorf("conditions: %+v", conds)
	}

	// exec and traffic find its nodes.
	res, err := r.Resolved("routed")
	if err != nil || res.Spec.Name != "routed" {
		t.Fatalf("Resolved: %v", err)
	}
	if n, ok := res.Node("server"); !ok || n.Namespace != ns("server") {
		t.Errorf("node server: %+v", n)
	}

	// Nothing to check, and said so; a second up is refused.
	for what, err := range map[string]error{
		"check routed": func() error { _, err := r.Check(ctx, "routed"); return err }(),
		"watch routed": func() error { _, _, err := r.Open("routed"); return err }(),
	} {
		if !errors.Is(err, labs.ErrUsage) || !strings.Contains(err.Error(), "routed is a playground (a topology with no lab): it has nothing to check or watch") {
			t.Errorf("%s: %v", what, err)
		}
	}
	if _, err := r.Check(ctx, ""); !errors.Is(err, labs.ErrNotUp) || !strings.Contains(err.Error(), "only the playground routed, and a playground has nothing to check") {
		t.Errorf("check: %v", err)
	}
	if err := r.UpPlayground(ctx, spec); !errors.Is(err, labs.ErrAlreadyUp) || !strings.Contains(err.Error(), "a playground named routed is already up in instance "+r.Instance) {
		t.Errorf("second up: %v", err)
	}

	// down by name needs no file: the record holds the topology.
	removed, err := r.Down(ctx, "routed")
	if err != nil || !slices.Equal(removed, []string{"routed"}) {
		t.Fatalf("down routed: %v, %v", removed, err)
	}
	if left := testutils.Leftovers(r.Instance); len(left) > 0 {
		t.Fatalf("down left %v", left)
	}
	if out := ipOut(t, "netns", "list"); strings.Contains(out, r.Instance+"-") {
		t.Errorf("ip netns list still shows the instance:\n%s", out)
	}

	// down with no name takes a playground too, beside a lab.
	if err := r.UpPlayground(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := r.Up(ctx, "packet_counter", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	removed, err = r.Down(ctx, "")
	slices.Sort(removed)
	if err != nil || !slices.Equal(removed, []string{"packet_counter", "routed"}) {
		t.Errorf("down: %v, %v", removed, err)
	}
}

// TestPlaygroundRefused: a playground that cannot be built is refused with
// its cause and its fix, and leaves nothing behind (the instance's cleanup
// checks that).
func TestPlaygroundRefused(t *testing.T) {
	testutils.RequirePrivileged(t)
	ctx := context.Background()

	t.Run("lab name", func(t *testing.T) {
		r := labtest.Runner(t)
		spec := loadPlayground(t)
		spec.Name = "redirect"
		err := r.UpPlayground(ctx, spec)
		if !errors.Is(err, labs.ErrUsage) || err.Error() != `topology name "redirect" is the name of a lab: a playground with it would be taken for the lab; rename the topology (its name: field), e.g. redirect_play` {
			t.Errorf("%v", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		r := labtest.Runner(t)
		spec := loadPlayground(t)
		spec.Nodes[0].Routes[0].Via = "10.9.9.9"
		err := r.UpPlayground(ctx, spec)
		if !errors.Is(err, topology.ErrInvalid) || !strings.Contains(err.Error(), "nodes[0].routes[0].via (node client): route via 10.9.9.9: gateway is not on any of its links") {
			t.Errorf("%v", err)
		}
	})
	t.Run("foreign namespace", func(t *testing.T) {
		r := labtest.Runner(t)
		name := topology.NamespaceName(r.Instance, "routed", "server")
		ns, err := namespace.Create(name, "")
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
		defer namespace.Delete(name)
		err = r.UpPlayground(ctx, loadPlayground(t))
		if !errors.Is(err, topology.ErrForeign) || !strings.Contains(err.Error(), "ip netns del "+name) {
			t.Errorf("%v", err)
		}
		if e, _ := namespace.Examine(name); e.Kind != namespace.Mounted {
			t.Error("the foreign namespace did not survive")
		}
		namespace.Delete(name)
	})
	t.Run("sysctl the kernel lacks", func(t *testing.T) {
		// Valid on paper, refused by the kernel half-way through the build:
		// what was built is removed again.
		r := labtest.Runner(t)
		spec := loadPlayground(t)
		spec.Nodes[2].Sysctls = map[string]string{"net.ipv4.no_such_setting": "1"}
		err := r.UpPlayground(ctx, spec)
		if err == nil || !strings.Contains(err.Error(), "node server") || !strings.Contains(err.Error(), "no_such_setting") {
			t.Errorf("%v", err)
		}
		if _, serr := os.Stat(filepath.Join("/run/xdplab", r.Instance, "routed.json")); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("state file left: %v", serr)
		}
	})
}

// TestDrawings: `xdplab topo` draws labs, files and playgrounds; a word
// that is none of them says what it may be.
func TestDrawings(t *testing.T) {
	r := &labs.Runner{Registry: course.Registry(), Instance: "xdplab", StateDir: t.TempDir()}
	all, err := r.Drawings(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range all {
		names = append(names, d.Lab)
	}
	if !slices.Equal(names, r.Registry.Names()) || all[0].Notes == nil {
		t.Errorf("every lab: %v (notes of the first: %v)", names, all[0].Notes)
	}
	ds, err := r.Drawings([]string{"redirect", "../topology/testdata/playground.yaml"})
	if err != nil || len(ds) != 2 || ds[1].Lab != "routed" || ds[1].Namespaces()[0] != "xdplab-routed-client" {
		t.Fatalf("a lab and a file: %v", err)
	}
	if _, err := r.Drawings([]string{"redirct"}); !errors.Is(err, labs.ErrUnknownLab) || !strings.HasSuffix(err.Error(), "; or give the path of a topology file (YAML)") {
		t.Errorf("unknown word: %v", err)
	}
	if _, err := r.Drawings([]string{"lab.yaml"}); err == nil || err.Error() != "topology file lab.yaml: no such file or directory: give the path of a YAML topology file" {
		t.Errorf("missing file: %v", err)
	}
	if _, err := r.Drawings([]string{"../topology/testdata/broken.yaml"}); !errors.Is(err, topology.ErrInvalid) {
		t.Errorf("broken file: %v", err)
	}
	// A name is never a path to a state file outside the instance's
	// directory: ../outside is a file name, not the record it would reach.
	record := `{"lab": "outside", "phase": "up", "topology": {"name": "outside", "nodes": [{"name": "a"}]}}`
	if err := os.WriteFile(filepath.Join(r.StateDir, "outside.json"), []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Drawings([]string{"../outside"}); err == nil || !strings.Contains(err.Error(), "topology file ../outside: no such file") {
		t.Errorf("../outside: %v", err)
	}
	if _, err := r.Resolved("../outside"); !errors.Is(err, labs.ErrUnknownLab) {
		t.Errorf("Resolved(../outside): %v", err)
	}
}
