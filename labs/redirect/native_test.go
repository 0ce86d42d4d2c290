package redirect

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/loader"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/topology"
)

// TestNativeUpPreparesPeers: in native mode the veth peers of node1 must end
// up with tx checksum offload off and xdp_pass attached natively; in generic
// mode they are left alone. Read back from inside their namespaces.
func TestNativeUpPreparesPeers(t *testing.T) {
	for _, mode := range []labs.Mode{labs.ModeGeneric, labs.ModeNative} {
		t.Run(string(mode), func(t *testing.T) {
			testutils.RequirePrivileged(t)
			inst := testutils.Instance(t)
			res, err := topology.Resolve(topology.Redirect(), inst, "redirect")
			if err != nil {
				t.Fatal(err)
			}
			d, err := res.Deploy(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			pins := filepath.Join(labs.DefaultPinRoot, inst, "redirect")
			t.Cleanup(func() {
				os.RemoveAll(filepath.Join(labs.DefaultPinRoot, inst))
				d.Close()
				res.Destroy(context.Background())
			})
			if err := os.MkdirAll(pins, 0o755); err != nil {
				t.Fatal(err)
			}
			env := &labs.Env{Instance: inst, Lab: "redirect", Topo: d, PinDir: pins,
				Options: labs.Options{Mode: mode}, Log: io.Discard}
			if err := New().Up(context.Background(), env); err != nil {
				t.Fatal(err)
			}
			native := mode == labs.ModeNative
			for _, p := range peers {
				ns := d.MustNS(p.node)
				on, err := txChecksum(ns, p.iface)
				if err != nil {
					t.Fatal(err)
				}
				if on == native {
					t.Errorf("%s: tx checksum offload on = %v in %s mode", p, on, mode)
				}
				l, err := ns.Netlink().LinkByName(p.iface)
				if err != nil {
					t.Fatal(err)
				}
				x := l.Attrs().Xdp
				attached := x != nil && x.Attached
				if attached != native {
					t.Errorf("%s: xdp attached = %v in %s mode", p, attached, mode)
				}
				if native && x.AttachMode != 1 { // XDP_ATTACHED_DRV
					t.Errorf("%s: xdp attach mode %d, want native (1)", p, x.AttachMode)
				}
			}
			for _, iface := range reflectors {
				l, err := d.MustNS("node1").Netlink().LinkByName(iface)
				if err != nil {
					t.Fatal(err)
				}
				if x := l.Attrs().Xdp; x == nil || !x.Attached {
					t.Errorf("node1/%s: no program attached", iface)
				}
			}
		})
	}
}

// TestSwapperMatchesAttachType: a learner's program loaded without an
// expected attach type can only be swapped for a stand-in without one too.
func TestSwapperMatchesAttachType(t *testing.T) {
	b := newBench(t)
	pins := filepath.Join(labs.DefaultPinRoot, b.inst, "redirect")
	if err := os.MkdirAll(pins, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(labs.DefaultPinRoot, b.inst)) })
	env := &labs.Env{Instance: b.inst, Lab: "redirect", Topo: b.topo, PinDir: pins}

	lspec, err := loadRedirect()
	if err != nil {
		t.Fatal(err)
	}
	ps := lspec.Programs[passName].Copy()
	ps.AttachType = ebpf.AttachNone
	learner, err := ebpf.NewProgram(ps)
	if err != nil {
		t.Fatal(err)
	}
	defer learner.Close()
	if err := learner.Pin(env.Pin(progPin)); err != nil {
		t.Fatal(err)
	}
	for _, iface := range reflectors {
		if err := loader.AttachXDP(b.node1, iface, learner, false, env.Pin(reflectorPin(iface))); err != nil {
			t.Fatal(err)
		}
	}
	sw, err := openSwapper(env)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	if err := sw.use(sw.pass); err != nil {
		t.Fatalf("swap in xdp_pass: %v", err)
	}
	if err := sw.restore(); err != nil {
		t.Fatalf("restore: %v", err)
	}
}
