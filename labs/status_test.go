package labs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/internal/traffic"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/labs/packet_counter"
)

// statusOf brings a lab up with opts, lets act send traffic into it, and
// returns status as people read it.
func statusOf(t *testing.T, lab string, opts labs.Options, act func(env *labs.Env)) string {
	t.Helper()
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	ctx := context.Background()
	if err := r.Up(ctx, lab, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if act != nil {
		_, env, err := r.Open(lab)
		if err != nil {
			t.Fatal(err)
		}
		act(env)
		env.Topo.Close()
	}
	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	labs.WriteStatus(&b, st)
	return b.String()
}

// TestStatusNamesKeys: status writes map keys as the lab's Info.Keys say:
// protocols by IPPROTO_* name, blacklist entries as prefixes.
func TestStatusNamesKeys(t *testing.T) {
	out := statusOf(t, "packet_counter", labs.Options{}, func(env *labs.Env) {
		dut := env.Topo.MustRole("dut").Addr.Addr()
		if _, err := traffic.Ping(context.Background(), env.Topo.MustNS("host"), dut, traffic.PingOptions{Count: 2}); err != nil {
			t.Fatal(err)
		}
	})
	if !strings.Contains(out, "  map protocols (PerCPUArray)\n    IPPROTO_ICMP: 2\n") {
		t.Errorf("status does not show the ICMP count by name:\n%s", out)
	}
	out = statusOf(t, "basic_firewall", labs.Options{Values: map[string][]string{"drop": {"10.0.0.0/8", "192.168.7.9"}}}, nil)
	for _, want := range []string{"  map blacklist (LPMTrie)\n", "    10.0.0.0/8: 0\n", "    192.168.7.9/32: 1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

// TestStatusShowsDevmap: status shows a DEVMAP's entries, ifindex ->
// ifindex, with the interface names of the namespace the program runs in.
func TestStatusShowsDevmap(t *testing.T) {
	var idx = map[string]int{}
	out := statusOf(t, "redirect", labs.Options{}, func(env *labs.Env) {
		for _, iface := range []string{"veth1", "veth2"} {
			l, err := env.Topo.MustNS("node1").Netlink().LinkByName(iface)
			if err != nil {
				t.Fatal(err)
			}
			idx[iface] = l.Attrs().Index
		}
	})
	if !strings.Contains(out, "  map if_redirect (DevMapHash)\n") {
		t.Fatalf("status does not show if_redirect:\n%s", out)
	}
	for _, iface := range []string{"veth1", "veth2"} {
		entry := fmt.Sprintf("    %d (%s): %d (%s)\n", idx[iface], iface, idx[iface], iface)
		if !strings.Contains(out, entry) {
			t.Errorf("status lacks the entry %q:\n%s", entry, out)
		}
	}
	if regexp.MustCompile(`map if_redirect \(DevMapHash\)\n  [^ ]`).MatchString(out) {
		t.Errorf("if_redirect is shown empty:\n%s", out)
	}
}

// TestStatusShowsOrigin: status says where the running program came from,
// embedded or the --obj file, with the whole sha256 to compare with
// sha256sum.
func TestStatusShowsOrigin(t *testing.T) {
	out := statusOf(t, "packet_counter", labs.Options{}, nil)
	want := "  program: embedded in xdplab (sha256 " + provenance.Sum(packetcounter.New().Info().Object) + ")\n"
	if !strings.Contains(out, want) {
		t.Errorf("status lacks %q:\n%s", want, out)
	}
	obj := filepath.Join(t.TempDir(), "mine.o")
	b, err := os.ReadFile(filepath.Join("packet_counter", "bpf_bpfel.o"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out = statusOf(t, "packet_counter", labs.Options{Obj: obj}, nil)
	want = "  program: --obj " + obj + " (sha256 " + provenance.Sum(b) + " at up)\n"
	if !strings.Contains(out, want) {
		t.Errorf("status lacks %q:\n%s", want, out)
	}
}
