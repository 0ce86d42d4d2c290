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
	Counters [][][]byte
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
		var v [][]byte
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
		v := make([][]byte, ebpf.MustPossibleCPU())
		for cpu := range v {
			v[cpu] = make([]byte, m.ValueSize())
			for b := range v[cpu] {
				v[cpu][b] = byte(100*int(i) + cpu + b + 1)
			}
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
	return upStepWithCounters(t, "", rules...)
}

func upStepWithCounters(t *testing.T, step string, rules ...string) (*labs.Runner, labState) {
	t.Helper()
	r := &labs.Runner{Registry: course.Registry(), Instance: testutils.Instance(t)}
	t.Cleanup(func() { r.Down(context.Background(), "") })
	if err := r.Up(context.Background(), "basic_firewall", labs.Options{Step: step, Values: drop(rules...)}); err != nil {
		t.Fatal(err)
	}
	setCounters(t, r)
	return r, readLabState(t, r)
}

// TestCheckLeavesEverything: a passing check leaves the learner's rules,
// every counter on every CPU (the slots it borrowed too, index 0 shared
// with a rule of the learner's among them) and the addresses exactly as
// they were, in every exercise.
func TestCheckLeavesEverything(t *testing.T) {
	for _, c := range []struct {
		step  string
		rules []string
	}{
		{"", []string{"192.168.0.0/24", "10.0.0.0/8"}},
		{"bytes", []string{"192.168.0.0/24", "10.0.0.0/8"}},
		{"ipv6", []string{"192.168.0.0/24", "2001:db8::/32", "10.0.0.0/8"}},
	} {
		t.Run(labs.Step{Name: c.step}.Title(), func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r, before := upStepWithCounters(t, c.step, c.rules...)
			reports, err := r.Check(context.Background(), "basic_firewall")
			if err != nil {
				t.Fatal(err)
			}
			testutils.RequirePass(t, reports)
			if after := readLabState(t, r); !reflect.DeepEqual(before, after) {
				t.Errorf("check changed the lab:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

// TestCheckCannotJudge: when the rules leave the check too few free slots
// or no source block that no rule touches, the check could not run: the
// report carries the cause and the command that fixes it, and nothing
// changed.
func TestCheckCannotJudge(t *testing.T) {
	var full []string
	for i := range 15 {
		full = append(full, fmt.Sprintf("10.%d.0.0/16", i))
	}
	cases := []struct {
		name, step string
		drop       []string
		want       []string
	}{
		{"full blacklist", "", append(slices.Clone(full), "192.168.0.0/24"), []string{
			"the check adds 4 rules of its own for a while, but the blacklist is full for them (16 rules, 0 free slots)",
			"remove 3 rules with `xdplab fw del CIDR --instance "}},
		{"one slot short", "", full[:14], []string{
			"the check adds 4 rules of its own for a while, but the blacklist is full for them (14 rules, 2 free slots)",
			"remove 1 rule with `xdplab fw del CIDR --instance "}},
		{"every source in a rule", "", []string{"0.0.0.0/0"}, []string{
			"cannot judge under these rules",
			"0.0.0.0/0 covers every address it could use (198.18.0.0/15, 100.64.0.0/10, 172.16.0.0/12, 10.0.0.0/8)",
			"remove it with `xdplab fw del 0.0.0.0/0 --instance "}},
		{"several rules cover every source", "", []string{"0.0.0.0/1", "128.0.0.0/1"}, []string{
			"0.0.0.0/1, 128.0.0.0/1 cover every address",
			"remove one of them with `xdplab fw del CIDR --instance "}},
		{"both", "", append(slices.Clone(full), "0.0.0.0/0"), []string{
			"cannot judge under these rules", "blacklist is full"}},
		{"every IPv6 source in a rule", "ipv6", []string{"::/0"}, []string{
			"cannot judge under these rules",
			"::/0 covers every address it could use (2001:db8:c612:1::/64, 3fff:fff:c612:1::/64, fd78:6c62:c612:1::/64)",
			"remove it with `xdplab fw del ::/0 --instance "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutils.RequirePrivileged(t)
			r, before := upStepWithCounters(t, c.step, c.drop...)
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

// TestMistakesUnderRules: the learner's own --drop rules must not mask a
// mistake. Mistakes of the suite that rules of the lab's subnet, of the
// dut's address or at index 0 could hide are run under such rules, and
// must fail the same expectation with the same word in its hint.
func TestMistakesUnderRules(t *testing.T) {
	drops := map[string][]string{
		"":     {"192.168.0.0/24", "192.168.0.2", "10.0.0.0/8"},
		"ipv6": {"192.168.0.0/24", "2001:db8::/32", "fd00::/8"},
	}
	under := []string{"base/destination", "base/count_at_zero", "base/index_zero", "base/byte_order", "base/index_plus_one",
		"ipv6/destination6", "ipv6/prefixlen_32"}
	for _, m := range labtest.LoadMistakes(t, "basic_firewall") {
		if !slices.Contains(under, m.Name()) {
			continue
		}
		t.Run(m.Name(), func(t *testing.T) {
			testutils.RequirePrivileged(t)
			step, _, _ := strings.Cut(m.Name(), "/")
			if step == labs.BaseStep {
				step = ""
			}
			reports, err := labtest.Runner(t).Run(context.Background(), []string{"basic_firewall"},
				labs.Options{Obj: m.Program(t, "basic_firewall"), Step: step, Values: drop(drops[step]...)})
			if err != nil {
				t.Fatal(err)
			}
			rep := reports[0]
			_, _, text := rep.Describe()
			if rep.Verdict != labs.VerdictFail {
				t.Fatalf("verdict %s, want fail:\n%s", rep.Verdict, text)
			}
			for _, res := range rep.Results {
				if !res.Pass && strings.Contains(res.Name, m.Fails) {
					if !strings.Contains(strings.ToLower(res.Hint), strings.ToLower(m.Hint)) {
						t.Errorf("%s fails, but its hint does not say %q:\n%s", res.Name, m.Hint, text)
					}
					return
				}
			}
			t.Errorf("no failing expectation named like %q:\n%s", m.Fails, text)
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
	if rep.Verdict != labs.VerdictFail || rep.Error != "" || len(rep.Results) != 13 {
		t.Fatalf("want 13 judged expectations and a FAIL, got %s, error %q, %d results", rep.Verdict, rep.Error, len(rep.Results))
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
	if !strings.Contains(reports[0].Results[0].Name, "198.18.0.9 -> 192.168.0.2") {
		t.Errorf("check did not move to the next /29: %s", reports[0].Results[0].Name)
	}
	if after := readLabState(t, r); !reflect.DeepEqual(before, after) {
		t.Errorf("check changed the lab:\nbefore %+v\nafter  %+v", before, after)
	}
}
