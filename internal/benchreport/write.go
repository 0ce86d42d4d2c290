package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Targets the report checks its figures against (issues 2 and 6).
const (
	targetRatio   = 0.5  // up+down <= 0.5 x the shell baseline
	targetPerNode = 10.0 // ms per node
	targetRunAll  = 5.0  // s
	targetPair    = 40.0 // ms, packet_counter up+down median
)

// startHistory records the start-time comparison made when the build became
// CGO_ENABLED=0 (issue 10): the cgo build cannot be measured again, so its
// figures are kept here rather than lost on the next `make bench`.
const startHistory = `Before and after the CGO_ENABLED=0 build (issue 10), measured on 2026-12-03 on this 2-core machine
while other test runs loaded it, the builds alternating run by run, n=500 each: ` + "`xdplab version`" + `
median 5.55 ms for the cgo build (main at 37d6b06, libpcap opened with dlopen from C) and 5.13 ms for
the CGO_ENABLED=0 build (purego); ` + "`list`" + ` 5.49 and 5.27 ms, ` + "`help`" + ` 7.28 and 6.93 ms. purego's own start
(its init, and its stand-in for the C runtime) costs about 0.1 ms; leaving out urfave/cli's unused
man page writer (build tag urfave_cli_no_docs) gives back 0.4 ms. The file the Go linker writes
starts about 0.9 ms slower than a copy of it while it stays in the page cache (measured; the cgo
build, linked by gcc, was not affected), so ` + "`make build`" + ` installs a copy as bin/xdplab.`

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func write(rep Report) error {
	base := strings.TrimSuffix(*out, filepath.Ext(*out))
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	svgPath := base + "-scale.svg"
	if err := os.WriteFile(svgPath, []byte(scaleSVG(rep)), 0o644); err != nil {
		return err
	}

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# xdplab benchmarks\n\n")
	p("Written by `sudo make bench` (internal/benchreport) from one run on %s.\n", rep.Date)
	p("Machine: %d cores, %s, kernel %s, %s. Each figure is a median with its spread;\n", rep.Machine.Cores, rep.Machine.CPU, rep.Machine.Kernel, rep.Machine.Go)
	p("the raw numbers are in [benchmarks.json](benchmarks.json). Benchmarks report; tests never assert times.\n\n")

	p("## up + down against the shell way\n\n")
	p("`xdplab up packet_counter` + `xdplab down`, each a new process, against\n")
	p("[scripts/bench/baseline-packet-counter.sh](../scripts/bench/baseline-packet-counter.sh), which does the same\n")
	p("topology, sysctls and XDP attach with `ip` commands, as the tutorials' setup scripts do. The two\n")
	p("alternate within one run so they share the machine's noise.\n\n")
	p("| | median | IQR | min–max | n |\n|---|---|---|---|---|\n")
	row := func(name string, s Stat) {
		p("| %s | %.1f %s | %.1f–%.1f | %.1f–%.1f | %d |\n", name, s.Median, s.Unit, s.P25, s.P75, s.Min, s.Max, s.N)
	}
	row("shell baseline (ip commands)", rep.Baseline)
	row("xdplab up + down", rep.XdplabPair)
	p("\nRatio xdplab / shell: **%.2f** (target <= %.1f: %s). packet_counter up+down median %.1f ms (target <= %.0f ms: %s).\n\n",
		rep.Ratio, targetRatio, verdict(rep.Ratio <= targetRatio), rep.XdplabPair.Median, targetPair, verdict(rep.XdplabPair.Median <= targetPair))

	p("## up + down per lab\n\n| lab | median | IQR | min–max | n |\n|---|---|---|---|---|\n")
	labs := make([]string, 0, len(rep.UpDown))
	for l := range rep.UpDown {
		labs = append(labs, l)
	}
	sort.Strings(labs)
	for _, l := range labs {
		row(l, rep.UpDown[l])
	}

	p("\n## run --all\n\n")
	p("`xdplab run --all` (up, check and down of every lab, including the checks' own traffic and timeouts): ")
	p("median **%.2f s** (min %.2f, max %.2f, n=%d; target <= %.0f s: %s)", rep.RunAll.Median, rep.RunAll.Min, rep.RunAll.Max, rep.RunAll.N, targetRunAll, verdict(rep.RunAll.Median <= targetRunAll))
	if !rep.RunAllOK {
		p(" — at least one run had a failing lab")
	}
	p(".\n\n")

	b.WriteString(classSection(rep.Class, rep.Machine.Cores))

	p("## Start time\n\n")
	p("Every xdplab command is a new process, so its start is paid each time. Each command below ran n times\n")
	p("(after 10 unmeasured runs) from `make build`'s binary; wall time from fork to exit.\n\n")
	p("| command | median | IQR | min–max | n |\n|---|---|---|---|---|\n")
	for _, args := range startCommands {
		cmd := strings.Join(args, " ")
		row("xdplab "+cmd, rep.Start[cmd])
	}
	p("\n%s\n\n", startHistory)

	p("## Scale: deploy + destroy against the number of nodes\n\n")
	p("Go benchmarks `BenchmarkDeployLine/nodes=N` and `BenchmarkDeployStar/nodes=N` in package topology\n")
	p("(a chain, and a hub with N-1 spokes; namespaces, veths, addresses, sysctls).\n\n")
	p("![deploy time against nodes](%s)\n\n", filepath.Base(svgPath))
	p("| shape | nodes | ms per deploy+destroy | ms per node |\n|---|---|---|---|\n")
	for _, shape := range []string{"Line", "Star"} {
		for _, pt := range rep.Scale[shape] {
			p("| %s | %d | %.1f | %.2f |\n", shape, pt.Nodes, pt.MsOp, pt.MsNode)
		}
	}
	for _, shape := range []string{"Line", "Star"} {
		lin := linearity(rep.Scale[shape])
		p("\n%s: marginal cost %.2f ms per node (least-squares slope; target <= %.0f ms: %s); cost per node from N=2 to N=128 varies by a factor %.2f (1.0 = perfectly linear).",
			shape, rep.PerNode[shape], targetPerNode, verdict(rep.PerNode[shape] <= targetPerNode), lin)
	}
	p("\n\n## Programs: ns per packet (BPF_PROG_TEST_RUN)\n\n")
	p("Each lab program on a representative frame, beside an empty XDP_PASS program as the floor\n(the kernel's own per-run average over many repetitions).\n\n| program | ns/packet |\n|---|---|\n")
	progs := make([]string, 0, len(rep.Programs))
	for k := range rep.Programs {
		progs = append(progs, k)
	}
	sort.Strings(progs)
	for _, k := range progs {
		p("| %s | %.1f |\n", k, rep.Programs[k])
	}
	p("\n## Capture throughput\n\n")
	if rep.CaptureMissing != "" {
		p("Not measured: %s.\n", rep.CaptureMissing)
	} else {
		p("`BenchmarkCapture` (internal/capture) runs the xdpcap lab program through BPF_PROG_TEST_RUN with a\n")
		p("`udp port 9` capture in its drop slot, in batches that fit the ring: kernel-side cost per packet, the\n")
		p("reader's cost per packet, and the packets per second delivered with 0 lost; `BenchmarkCaptureFile` is\n")
		p("the same with the packets written to a pcapng file as `capture -w FILE` writes them. `BenchmarkCaptureLive`\n")
		p("(labs/xdpcap) captures on the lab's own veth with the command's defaults while 1 or 2 senders in the\n")
		p("host namespace offer all they can for a second: offered rate, matched and lost. Loss starts where\n")
		p("the offered rate passes the reader's rate (1e9 / reader-ns/packet); if `lost` is 0 at the highest\n")
		p("offered rate, this machine cannot offer enough through a veth to reach it.\n\n")
		p("| metric | value |\n|---|---|\n")
		keys := make([]string, 0, len(rep.Capture))
		for k := range rep.Capture {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p("| %s | %.0f |\n", k, rep.Capture[k])
		}
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

// classSection is the class-load table and what limits the number of
// instances, from the figures of the run and the limits read on the machine.
func classSection(cb ClassBench, cores int) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	lim := cb.Limits
	p("## Class load: N instances at once\n\n")
	p("N instances, as N learners on one machine, each run `xdplab up %s`, `check` and `down` one after\n", classLab)
	p("the other, all N starting at the same moment; every command is a process of `make build`'s binary.\n")
	p("A failure is a non-zero exit of any command, or a namespace, pin directory or state directory that an\n")
	p("instance left behind. Step times are per command over the N instances (median and max). Sampled every\n")
	p("%d ms: the sum of the RSS of the xdplab processes alive at that moment (with its anonymous part; the rest\n", sampleEvery.Milliseconds())
	p("is the binary's pages, which they share), and memory: ")
	switch {
	case lim.MemSource == "/proc/meminfo":
		p("MemTotal - MemAvailable of /proc/meminfo (the whole machine, so other work on it adds noise)")
	case lim.KmemSource != "":
		p("`memory.usage_in_bytes` of the cgroup (v1) the bench runs in, with its kernel part\n")
		p("(`memory.kmem.usage_in_bytes`); BPF maps and programs, namespaces, veths and sockets are charged to it\n")
		p("(memcg accounting), as the xdplab processes' own memory is")
	default:
		p("`%s` of the cgroup the bench runs in; BPF maps and programs, namespaces, veths and\n", filepath.Base(lim.MemSource))
		p("sockets are charged to it (memcg accounting), as the xdplab processes' own memory is")
	}
	p(". Memory is the peak above its value\njust before the run, and what was still above it 1 s after the last `down`.\n\n")
	p("| N | wall | failures | up | check | down | CPU (user+sys) | peak RSS sum (anon) | processes | memory peak (kernel) | after | load before |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cb.Runs {
		st := func(name string) string {
			s := c.Step[name]
			return fmt.Sprintf("%.2f s (max %.2f)", s.Median, s.Max)
		}
		kernel := ""
		if lim.KmemSource != "" {
			kernel = fmt.Sprintf(" (%.0f MiB)", c.KmemPeakMiB)
		}
		p("| %d | %.1f s | %d | %s | %s | %s | %.1f s | %.0f MiB (%.0f MiB) | %d | %.0f MiB%s | %.0f MiB | %.2f |\n",
			c.Instances, c.WallS, c.Failures, st("up"), st("check"), st("down"), c.CPUS, c.PeakRSSMiB, c.PeakAnonMiB,
			c.PeakProcesses, c.MemPeakMiB, kernel, c.MemAfterMiB, c.Load[0])
	}
	for _, c := range cb.Runs {
		if c.FirstFailure != "" {
			p("\nFirst failure at N=%d:\n\n```\n%s\n```\n", c.Instances, c.FirstFailure)
		}
	}
	if len(cb.Runs) == 0 {
		return b.String() + "\n"
	}
	c := cb.Runs[len(cb.Runs)-1]
	n := float64(c.Instances)
	up := max(float64(c.PeakNamespaces)/2, 1) // two namespaces per instance
	cores = max(cores, 1)
	p("\n### What limits N\n\n")
	p("From the N=%d run above and the limits read on this machine when it ran:\n\n", c.Instances)
	p("- **CPU.** One instance's three commands cost %.3f s of CPU (user+sys; kernel threads, e.g. the one that\n", c.CPUS/n)
	p("  frees namespaces, not counted), so %d cores need at least %.1f s for N=%d; the run took %.1f s. Namespaces,\n",
		cores, c.CPUS/float64(cores), c.Instances, c.WallS)
	p("  veths and XDP attachment are made under the kernel's global rtnl_mutex, one instance at a time, whatever the cores;\n")
	p("  so is the kernel's link watcher, which readies a new veth for traffic and which `up` waits for (at N=300 it\n")
	p("  ran seconds late, and before `up` waited, the first pings of some checks were lost).\n")
	p("- **File descriptors.** An xdplab process had at most %d files open. Each learner's command is a process of its\n", c.PeakFDs)
	p("  own, so N does not add to any one process's count; its limit is `ulimit -n` (%d soft, %d hard here;\n", lim.NoFileSoft, lim.NoFileHard)
	p("  Go raises the soft limit to the hard one at start; fs.nr_open %d). The machine had %d files open of\n", lim.NrOpen, lim.FilesOpen)
	p("  fs.file-max %d before the run: %d processes at %d files each are %d more.\n",
		lim.FileMax, c.PeakProcesses, c.PeakFDs, c.PeakProcesses*c.PeakFDs)
	p("- **Memory, BPF's included.** Maps and programs are charged to the memory cgroup of the process that creates\n")
	p("  them (memcg accounting) and stay charged while pinned, after `up` has exited; RLIMIT_MEMLOCK (%s here) is not\n", memlockText(lim.MemlockSoft))
	p("  what the kernel checks, and it cannot be raised in this sandbox anyway. ")
	h := cb.Held
	if h.Error != "" {
		p("What an instance holds could not be measured:\n\n  ```\n  %s\n  ```\n\n  ", strings.ReplaceAll(strings.TrimSpace(h.Error), "\n", "\n  "))
	} else if h.Instances > 0 {
		p("An instance that is up, with no command running, holds %.2f MiB", h.MiB)
		if lim.KmemSource != "" {
			p(" by the cgroup's usage, %.2f MiB by its kernel\n  counter", h.KernelMiB)
		}
		p(": its two namespaces, the veth pair, the program and its per-CPU map (%d instances brought up one after\n  the other, the difference divided by their number). ", h.Instances)
	}
	p("At the N=%d peak, with\n  about %.0f instances up and %d xdplab processes alive, the cgroup held %.0f MiB more than before the run",
		c.Instances, up, c.PeakProcesses, c.MemPeakMiB)
	if lim.KmemSource != "" {
		p(" (%.0f MiB kernel memory)", c.KmemPeakMiB)
	}
	p(", %.0f MiB of it the processes' anonymous memory. ", c.PeakAnonMiB)
	room := lim.MemAvailMiB
	if lim.MemLimitMiB > 0 {
		p("The cgroup's limit is %d MiB", lim.MemLimitMiB)
		room = min(room, lim.MemLimitMiB)
	} else {
		p("The cgroup has no limit; the machine had %d MiB available of %d MiB", lim.MemAvailMiB, lim.MemTotalMiB)
	}
	if perInst := c.MemPeakMiB / n; perInst > 0 {
		p(": room for\n  about %.0f instances starting at once", float64(room)/perInst)
		if h.MiB > 0 {
			p(", or %.0f that are up", float64(room)/h.MiB)
		}
	}
	p(".\n")
	p("- **Namespaces.** Two network namespaces per instance (%d of the bench at the peak, %d named ones of other work\n", c.PeakNamespaces, lim.NetNSInUse)
	p("  before the run); /proc/sys/user/max_net_namespaces is %d, room for %d instances. A namespace counts until\n", lim.MaxNetNS, lim.MaxNetNS/2)
	p("  the kernel's worker has freed it, shortly after `down`.\n")
	p("- **veths.** One pair per instance, inside its namespaces: the kernel sets no count, only memory and rtnl_mutex time.\n")
	p("- **Instance lock.** /run/xdplab/INSTANCE/lock is per instance: learners never wait for each other, only commands\n")
	p("  on the same instance do (for up to one minute).\n")
	p("- **Mounts.** Each named namespace is a bind mount under /run/netns (mounts at or under it: %d before the run,\n", lim.NetnsMounts)
	p("  %d at the peak), against fs.mount-max %d per mount namespace (%d mounts in all before the run).", c.PeakNetnsMounts, lim.MountMax, lim.Mounts)
	if lim.NetnsShared {
		p(" /run/netns is\n  a shared mount, as iproute2 makes it, so each one is also made in every mount namespace that is its peer.")
	}
	p("\n\n")
	// The first count limit that instances left up would meet.
	type bound struct {
		what string
		n    int64
	}
	bounds := []bound{{"network namespaces", lim.MaxNetNS / 2}, {"fs.mount-max", lim.MountMax / 2}}
	if h.MiB > 0 {
		bounds = append(bounds, bound{"memory", int64(float64(room) / h.MiB)})
	}
	first := bound{}
	for _, bd := range bounds {
		if bd.n > 0 && (first.n == 0 || bd.n < first.n) {
			first = bd
		}
	}
	p("In short: a class that starts at once is limited by time, about %.3f s of CPU per instance over %d cores plus\n", c.CPUS/n, cores)
	p("the waits on rtnl_mutex")
	if failures := failuresOf(cb.Runs); failures == 0 {
		p(", with no failure up to N=%d here", c.Instances)
	} else {
		p("; %d commands or instances failed (above)", failures)
	}
	if first.n > 0 {
		p("; instances left up would run into %s first, at about %d", first.what, first.n)
	}
	p(".\n\n")
	return b.String()
}

func failuresOf(runs []ClassLoad) int {
	n := 0
	for _, c := range runs {
		n += c.Failures
	}
	return n
}

func memlockText(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return fmt.Sprintf("%d KiB", v>>10)
}

// linearity is max/min of the per-node cost over the measured sizes.
func linearity(pts []Point) float64 {
	if len(pts) == 0 {
		return 0
	}
	lo, hi := pts[0].MsNode, pts[0].MsNode
	for _, p := range pts {
		lo, hi = min(lo, p.MsNode), max(hi, p.MsNode)
	}
	if lo == 0 {
		return 0
	}
	return hi / lo
}

// scaleSVG plots ms per deploy+destroy against nodes for both shapes.
func scaleSVG(rep Report) string {
	const w, h, left, bottom, top, right = 640, 400, 70, 50, 30, 150
	maxN, maxY := 1.0, 1.0
	for _, pts := range rep.Scale {
		for _, p := range pts {
			maxN, maxY = max(maxN, float64(p.Nodes)), max(maxY, p.MsOp)
		}
	}
	maxY *= 1.1
	x := func(n float64) float64 { return left + n/maxN*(w-left-right) }
	y := func(v float64) float64 { return h - bottom - v/maxY*(h-bottom-top) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">xdplab: deploy + destroy time against nodes</text>`+"\n", left)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, h-bottom)
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-6, y(v)+4, v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), w-right, y(v))
	}
	for _, n := range []float64{2, 8, 32, 64, 128} {
		if n <= maxN {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(n), h-bottom+16, n)
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">nodes</text>`+"\n", (left+w-right)/2, h-12)
	fmt.Fprintf(&b, `<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">ms</text>`+"\n", (top+h-bottom)/2, (top+h-bottom)/2)
	colors := map[string]string{"Line": "#1f77b4", "Star": "#d62728"}
	i := 0
	for _, shape := range []string{"Line", "Star"} {
		pts := rep.Scale[shape]
		var coords []string
		for _, p := range pts {
			coords = append(coords, fmt.Sprintf("%.1f,%.1f", x(float64(p.Nodes)), y(p.MsOp)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[shape], strings.Join(coords, " "))
		for _, c := range coords {
			xy := strings.Split(c, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], colors[shape])
		}
		ly := top + 20 + i*20
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", w-right+15, ly-10, colors[shape])
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s (%.2f ms/node)</text>`+"\n", w-right+32, ly, strings.ToLower(shape), rep.PerNode[shape])
		i++
	}
	b.WriteString("</svg>\n")
	return b.String()
}
