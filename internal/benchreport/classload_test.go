package main

import (
	"os"
	"strings"
	"testing"
)

func TestClassOwner(t *testing.T) {
	for _, tc := range []struct {
		name, inst string
		pid        int
		ok         bool
	}{
		{classInstance(4242, 7), "xdplabclass4242_7", 4242, true},
		{classInstance(4242, 7) + "-packet_counter-node1", "xdplabclass4242_7", 4242, true},
		{"xdplabclass_7", "", 0, false},
		{"xdplabclassx_7", "", 0, false},
		{"xdplabclass12", "", 0, false},
		{"xdplabbench-packet_counter-host", "", 0, false},
		{"t0cc22d58-xdp_dump-node1", "", 0, false},
	} {
		inst, pid, ok := classOwner(tc.name)
		if inst != tc.inst || pid != tc.pid || ok != tc.ok {
			t.Errorf("classOwner(%q) = %q, %d, %v; want %q, %d, %v", tc.name, inst, pid, ok, tc.inst, tc.pid, tc.ok)
		}
	}
}

func TestParseStatm(t *testing.T) {
	page := int64(os.Getpagesize())
	rss, anon := parseStatm("311079 2937 1881 1122 0 58432 0\n")
	if rss != 2937*page || anon != (2937-1881)*page {
		t.Errorf("parseStatm = %d, %d", rss, anon)
	}
	if rss, anon := parseStatm(""); rss != 0 || anon != 0 {
		t.Errorf("parseStatm of a gone process = %d, %d", rss, anon)
	}
}

func TestParseCounts(t *testing.T) {
	ns, err := parseCounts("100, 10,30")
	if err != nil || len(ns) != 3 || ns[0] != 10 || ns[2] != 100 {
		t.Errorf("parseCounts = %v, %v", ns, err)
	}
	for _, bad := range []string{"0", "ten", "10,-3"} {
		if _, err := parseCounts(bad); err == nil || !strings.Contains(err.Error(), "want a positive number") {
			t.Errorf("parseCounts(%q) = %v", bad, err)
		}
	}
}

func TestMemoryCgroupMissing(t *testing.T) {
	// A v1 line names the memory controller; without the files (this test
	// does not create them) the v2 line is tried, then nothing.
	usage, _, ok := memoryCgroup("4:memory:/no/such/xdplab/cgroup\n0::/no/such/xdplab/cgroup\n")
	if ok {
		t.Errorf("memoryCgroup found %s for a cgroup that does not exist", usage)
	}
}

// TestClassSection: the section prints every run, the first failure's
// output, and the limits paragraph from the largest run.
func TestClassSection(t *testing.T) {
	cb := ClassBench{Limits: Limits{MemSource: "/proc/meminfo", MaxNetNS: 1000, MemLimitMiB: -1, MemAvailMiB: 1000},
		Held: Held{Instances: 10, MiB: 0.5}}
	cb.Runs = []ClassLoad{
		{Instances: 10, WallS: 0.4, Step: map[string]Stat{"up": {Median: 0.1, Max: 0.2}}, CPUS: 0.5, PeakNamespaces: 20},
		{Instances: 100, WallS: 3.8, Failures: 1, FirstFailure: "instance xdplabclass1_5: xdplab check packet_counter: exit status 2\nxdplab: boom",
			CPUS: 5, PeakNamespaces: 200, PeakFDs: 23, PeakProcesses: 100, MemPeakMiB: 250},
	}
	s := classSection(cb, 2)
	for _, want := range []string{
		"| 10 | 0.4 s | 0 | 0.10 s (max 0.20) |",
		"| 100 | 3.8 s | 1 |",
		"First failure at N=100:\n\n```\ninstance xdplabclass1_5: xdplab check packet_counter: exit status 2\nxdplab: boom\n```",
		"From the N=100 run",
		"cost 0.050 s of CPU",
		"2 cores need at least 2.5 s",
		"max_net_namespaces is 1000, room for 500 instances",
		"MemTotal - MemAvailable",
		"holds 0.50 MiB",
		"room for\n  about 400 instances starting at once, or 2000 that are up",
		"1 commands or instances failed (above); instances left up would run into network namespaces first, at about 500",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q:\n%s", want, s)
		}
	}
	if s := classSection(ClassBench{}, 0); !strings.Contains(s, "## Class load") || strings.Contains(s, "What limits") {
		t.Errorf("section without runs:\n%s", s)
	}
}
