package topology_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/topology"
)

// TestSweepOwnership walks the states a name can be left in, by a crash at
// any point of Create or by a hand: Sweep deletes exactly xdplab's.
func TestSweepOwnership(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst, other := testutils.Instance(t), testutils.Instance(t)
	name := func(lab, node string) string { return topology.NamespaceName(inst, lab, node) }
	all := []string{name("lab", "marked"), name("lab", "plain"), name("lab", "recorded"), name("lab", "stray"),
		name("lab", "link"), name("lab", "othermark"), name("sib", "marked"), inst + "_target"}
	t.Cleanup(func() {
		for _, n := range all {
			namespace.Delete(n)
		}
	})
	create := func(n, mark string) {
		ns, err := namespace.Create(n, mark)
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
	}
	create(name("lab", "marked"), topology.Mark(inst, "lab"))     // a finished Create
	create(name("lab", "plain"), "")                              // `ip netns add`
	create(name("lab", "othermark"), topology.Mark(other, "lab")) // another instance's
	create(name("sib", "marked"), topology.Mark(inst, "sib"))     // a sibling lab's
	create(inst+"_target", topology.Mark(inst, "lab"))
	// A Create killed after its placeholder, before its mount: the record
	// names it, or (a hand's unfinished `ip netns add`) it does not.
	os.WriteFile(namespace.Path(name("lab", "recorded")), nil, 0o444)
	os.WriteFile(namespace.Path(name("lab", "stray")), nil, 0o444)
	// A link to a marked namespace is still not ours.
	os.Symlink(namespace.Path(inst+"_target"), namespace.Path(name("lab", "link")))

	recorded := []string{name("lab", "recorded"), name("lab", "plain"), name("lab", "nothing")}
	removed, foreign, err := topology.Sweep(inst, "lab", recorded)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(foreign)
	if want := []string{name("lab", "marked"), name("lab", "recorded")}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if want := []string{name("lab", "link"), name("lab", "othermark"), name("lab", "plain"), name("lab", "stray")}; !slices.Equal(foreign, want) {
		t.Errorf("left alone %v, want %v", foreign, want)
	}
	for _, n := range append(foreign, name("sib", "marked"), inst+"_target") {
		if !namespace.Exists(n) {
			t.Errorf("%s is gone", n)
		}
	}
	if e, _ := namespace.Examine(inst + "_target"); e.Kind != namespace.Mounted {
		t.Errorf("the link's target was unmounted: %+v", e)
	}
	// The whole instance: the sibling lab's goes too, nothing foreign does.
	removed, _, err = topology.Sweep(inst, "", nil)
	if err != nil || !slices.Equal(removed, []string{name("sib", "marked")}) {
		t.Errorf("instance sweep removed %v, %v", removed, err)
	}
}

// TestCheckFree: a foreign namespace with a node's name is named with its fix.
func TestCheckFree(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	r, err := topology.Resolve(topology.Pair(), inst, "pair")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckFree(nil); err != nil {
		t.Fatalf("nothing there: %v", err)
	}
	host := topology.NamespaceName(inst, "pair", "host")
	t.Cleanup(func() { namespace.Delete(host) })
	os.Symlink(namespace.Path(inst+"_nowhere"), namespace.Path(host)) // dangling: a link is refused before it is followed
	err = r.CheckFree(nil)
	if !errors.Is(err, topology.ErrForeign) || !strings.Contains(err.Error(), "rm "+namespace.Path(host)) {
		t.Errorf("a link: %v", err)
	}
	namespace.Delete(host)
	ns, err := namespace.Create(host, "")
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	err = r.CheckFree(nil)
	want := "namespace " + host + " exists and was not created by xdplab: remove it (`ip netns del " + host + "`) or choose another --instance"
	if !errors.Is(err, topology.ErrForeign) || err.Error() != want {
		t.Errorf("an unmarked namespace: %v\nwant %s", err, want)
	}
	if _, err := r.Deploy(t.Context()); !errors.Is(err, topology.ErrForeign) {
		t.Errorf("Deploy over it: %v", err)
	}
	if e, _ := namespace.Examine(host); e.Kind != namespace.Mounted {
		t.Errorf("the foreign namespace did not survive: %+v", e)
	}
}
