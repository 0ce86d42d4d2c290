package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
)

// rootSnapshot records the root namespace's links, addresses, routes, rules
// and net sysctls, read with iproute2 as an independent witness.
func rootSnapshot(t *testing.T, inst string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for name, args := range map[string][]string{
		"links":  {"-d", "link", "show"},
		"addrs":  {"addr", "show"},
		"routes": {"route", "show", "table", "all"},
		"rules":  {"rule", "show"},
		"neigh":  {"-4", "neigh", "show", "nud", "permanent"},
		"netns":  {"netns", "list-id"},
	} {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
		snap[name] = string(out)
	}
	// Other tests on the machine make and delete namespaces all the time, so
	// the root's namespace ids are only ours to judge where they name one of
	// this instance's namespaces; iproute2 also prints an error for each id
	// whose namespace went away while it listed them.
	var ours []string
	for _, line := range strings.Split(snap["netns"], "\n") {
		if strings.Contains(line, inst+"-") {
			ours = append(ours, line)
		}
	}
	snap["netns"] = strings.Join(ours, "\n")
	var keys []string
	for _, pattern := range []string{
		"/proc/sys/net/ipv4/ip_forward",
		"/proc/sys/net/ipv4/conf/*/*",
		"/proc/sys/net/ipv6/conf/*/*",
		"/proc/sys/net/core/bpf_jit_enable",
	} {
		m, _ := filepath.Glob(pattern)
		keys = append(keys, m...)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, err := os.ReadFile(k)
		if err != nil {
			continue // write-only or unreadable entries
		}
		b.WriteString(k + "=" + strings.TrimSpace(string(v)) + "\n")
	}
	snap["sysctls"] = b.String()
	return snap
}

// TestRootNamespaceUnchanged: `xdplab run --all` must not create, change or
// delete anything in the root namespace.
func TestRootNamespaceUnchanged(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	before := rootSnapshot(t, inst)
	r := xdplab(t, inst, "run", "--all")
	if r.code != 0 {
		t.Errorf("run --all: %s", r)
	}
	after := rootSnapshot(t, inst)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("root namespace %s changed:\nbefore:\n%s\nafter:\n%s", k, v, after[k])
		}
	}
}
