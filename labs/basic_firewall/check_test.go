package basicfirewall_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	basicfirewall "github.com/xdplab/xdplab/labs/basic_firewall"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/labtest"
	"github.com/xdplab/xdplab/topology"
)

// labState is what a check must leave as it found it: the rules with their
// counters, every counter of matches on every CPU, the lab's addresses, and
// no undo record.
type labState struct {
	Rules    []basicfirewall.Rule
	Counters [][]uint64
	Addrs    []string
	Records  []string
}

func readLabState(t *testing.T, r *labs.Runner) labState {
	t.Helper()
	var s labState
	rules, err := basicfirewall.List(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	s.Rules = rules
	m, err := ebpf.LoadPinnedMap(filepath.Join(r.PinDir("basic_firewall"), "matches"), &ebpf.LoadPinOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := range m.MaxEntries() {
		var v []uint64
		if err := m.Lookup(i, &v); err != nil {
			t.Fatal(err)
		}
		s.Counters = append(s.Counters, v)
	}
	for _, node := range []string{"host", "node1"} {
		ns, err := namespace.Open(topology.NamespaceName(r.Instance, "basic_firewall", node))
		if err != nil {
			t.Fatal(err)
		}
		addrs, err := ns.Netlink().AddrList(nil, netlink.FAMILY_V4)
		ns.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			s.Addrs = append(s.Addrs, node+" "+a.IPNet.String())
		}
	}
	slices.Sort(s.Addrs)
	s.Records, _ = filepath.Glob(filepath.Join("/run/xdplab", r.Instance, "*.undo"))
	return s
}

// setCounters gives every slot of matches its own value on each CPU, free
// slots included, so that any reset or stray count shows.
func setCounters(t *testing.T, r *labs.Runner) {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(filepath.Join(r.PinDir("basic_firewall"), "matches"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := range m.MaxEntries() {
		v := make([]uint64, ebpf.MustPossibleCPU())
		for cpu := range v {
			v[cpu] = uint64(100*i) + uint64(cpu) + 1
		}
		if err := m.Update(i, v, ebpf.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
}

// upWithCounters brings the lab up with rules and a value in every counter,
// and returns its state before any check.
func upWithCounters(t *testing.T, rules ...string) (*labs.Runner, labState) {
	t.Helper()
	r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if err := r.Up(context.Background(), "basic_firewall", labs.Options{Values: drop(rules...)}); err != nil {
		t.Fatal(err)
	}
	setCounters(t, r)
	return r, readLabState(t, r)
}

// TestCheckLeavesEverything: a passing check leaves the learner's rules,
// every counter on every CPU (the slot it borrowed too) and the addresses
// exactly as they were.
func TestCheckLeavesEverything(t *testing.T) {
	testutils.RequirePrivileged(t)
	r, before := upWithCounters(t, "192.168.0.0/24", "10.0.0.0/8")
	reports, err := r.Check(context.Background(), "basic_firewall")
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
	if after := readLabState(t, r); !reflect.DeepEqual(before, after) {
		t.Errorf("check changed the lab:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestCheckCannotJudge: when the rules leave the check no free slot or no
// source address that no rule matches, the check could not run: the report
// carries the cause and the command that fixes it, and nothing changed.
func TestCheckCannotJudge(t *testing.T) {
	var full []string
	for i := range 15 {
		full = append(full, fmt.Sprintf("10.%d.0.0/16", i))
	}
	cases := []struct {
		name string
		drop []string
		want []string
	}{
		{"full blacklist", append(slices.Clone(full), "192.168.0.0/24"), []string{
			"the check adds a rule of its own for a while, but the blacklist is full (16 rules)",
			"remove one with `xdplab fw del CIDR --instance "}},
		{"every source in a rule", []string{"0.0.0.0/0"}, []string{
			"cannot judge under these rules",
			"0.0.0.0/0 covers every address it could use (198.18.0.0/15, 100.64.0.0/10, 172.16.0.0/12, 10.0.0.0/8)",
			"remove it with `xdplab fw del 0.0.0.0/0 --instance "}},
		{"several rules cover every source", []string{"0.0.0.0/1", "128.0.0.0/1"}, []string{
			"0.0.0.0/1, 128.0.0.0/1 cover every address",
			"remove one of them with `xdplab fw del CIDR --instance "}},
		{"both", append(slices.Clone(full), "0.0.0.0/0"), []string{
			"cannot judge under these rules", "blacklist is full"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r, before := upWithCounters(t, c.drop...)
			reports, err := r.Check(context.Background(), "basic_firewall")
			if err != nil {
				t.Fatal(err)
			}
			rep := reports[0]
			if rep.Pass || len(rep.Results) != 0 {
				t.Errorf("report passes or has results: %+v", rep)
			}
			for _, w := range append(c.want, r.Instance+"`") {
				if !strings.Contains(rep.Error, w) {
					t.Errorf("report error %q lacks %q", rep.Error, w)
				}
			}
			if after := readLabState(t, r); !reflect.DeepEqual(before, after) {
				t.Errorf("check changed the lab:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

// TestCheckCatchesMistakes: programs that pass a check that only pings from
// the host under the learner's own rules must fail this one, with a hint
// that names the mistake.
func TestCheckCatchesMistakes(t *testing.T) {
	cases := []struct {
		name, obj string
		drop      []string
		failing   string // the name of a failing expectation
		hint      string
	}{
		{"destination lookup under 192.168.0.0/24", "testdata/dst_lookup.o", []string{"192.168.0.0/24"},
			"are answered", "contains the pings' destination 192.168.0.2, not their source 198.18.0.1: look up the source address (ip->saddr)"},
		{"destination lookup without rules", "testdata/dst_lookup.o", nil,
			"get no reply", "ip->saddr"},
		{"counting at index 0 under one rule", "testdata/count_at_zero.o", []string{"192.168.0.0/24"},
			"matches[15]", "use the value it returns as the index"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
			reports, err := r.Run(context.Background(), []string{"basic_firewall"},
				labs.Options{Obj: c.obj, Values: drop(c.drop...)})
			if err != nil {
				t.Fatal(err)
			}
			rep := reports[0]
			if rep.Pass || rep.Error != "" {
				t.Fatalf("want a failed expectation, got pass=%v error=%q", rep.Pass, rep.Error)
			}
			found := false
			for _, res := range rep.Results {
				if !res.Pass && strings.Contains(res.Name, c.failing) {
					found = true
					if !strings.Contains(res.Hint, c.hint) {
						t.Errorf("%s: hint %q lacks %q", res.Name, res.Hint, c.hint)
					}
				}
			}
			if !found {
				t.Errorf("no failing expectation %q in %+v", c.failing, rep.Results)
			}
		})
	}
}

// TestCheckPingsNotSent: when the host cannot send the check's pings (its
// route to the lab's subnet deleted behind the lab's back), every
// expectation is still judged, the failures blame the network, not the
// program, and the check takes its own changes back as always.
func TestCheckPingsNotSent(t *testing.T) {
	testutils.RequirePrivileged(t)
	r, _ := upWithCounters(t, "10.0.0.0/8")
	labtest.DeleteRoute(t, r, "basic_firewall", "host", "192.168.0.0/24")
	before := readLabState(t, r)
	reports, err := r.Check(context.Background(), "basic_firewall")
	if err != nil {
		t.Fatal(err)
	}
	rep := reports[0]
	if rep.Verdict != labs.VerdictFail || rep.Error != "" || len(rep.Results) != 5 {
		t.Fatalf("want 5 judged expectations and a FAIL, got %s, error %q, %d results", rep.Verdict, rep.Error, len(rep.Results))
	}
	failed := 0
	for _, res := range rep.Results {
		if res.Pass {
			continue
		}
		failed++
		if !strings.Contains(res.Hint, "pinging from host stopped before its end") || !strings.Contains(res.Hint, "network is unreachable") {
			t.Errorf("%s: hint %q does not blame the network", res.Name, res.Hint)
		}
	}
	if failed == 0 {
		t.Error("no expectation failed")
	}
	if after := readLabState(t, r); !reflect.DeepEqual(before, after) {
		t.Errorf("check changed the lab:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestCheckKeepsAddressesItDidNotAdd: an address someone gave the host where
// the check would put its own is left alone; the check takes the next /30.
func TestCheckKeepsAddressesItDidNotAdd(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if err := r.Up(context.Background(), "basic_firewall", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	host, err := namespace.Open(topology.NamespaceName(r.Instance, "basic_firewall", "host"))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	veth0, err := host.Netlink().LinkByName("veth0")
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := netlink.ParseAddr("198.18.0.1/30")
	if err := host.Netlink().AddrAdd(veth0, mine); err != nil {
		t.Fatal(err)
	}
	before := readLabState(t, r)
	reports, err := r.Check(context.Background(), "basic_firewall")
	if err != nil {
		t.Fatal(err)
	}
	testutils.RequirePass(t, reports)
	if !strings.Contains(reports[0].Results[0].Name, "198.18.0.5 -> 192.168.0.2") {
		t.Errorf("check did not move to the next /30: %s", reports[0].Results[0].Name)
	}
	if after := readLabState(t, r); !reflect.DeepEqual(before, after) {
		t.Errorf("check changed the lab:\nbefore %+v\nafter  %+v", before, after)
	}
}
