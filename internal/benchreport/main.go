// Command benchreport runs xdplab's benchmarks on the machine at hand and
// writes docs/benchmarks.md, a JSON twin and an SVG scale plot (`make bench`).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Stat is a sample summarized: median and spread.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	P25    float64 `json:"p25"`
	P75    float64 `json:"p75"`
	N      int     `json:"n"`
	Unit   string  `json:"unit"`
}

func summarize(xs []float64, unit string) Stat {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		if len(s) == 0 {
			return 0
		}
		i := p * float64(len(s)-1)
		lo := int(i)
		hi := min(lo+1, len(s)-1)
		return s[lo] + (s[hi]-s[lo])*(i-float64(lo))
	}
	st := Stat{Median: q(0.5), P25: q(0.25), P75: q(0.75), N: len(s), Unit: unit}
	if len(s) > 0 {
		st.Min, st.Max = s[0], s[len(s)-1]
	}
	return st
}

func (s Stat) String() string {
	return fmt.Sprintf("%.2f %s (IQR %.2f–%.2f, min %.2f, max %.2f, n=%d)", s.Median, s.Unit, s.P25, s.P75, s.Min, s.Max, s.N)
}

// Report is everything the run measured.
type Report struct {
	Date           string             `json:"date"`
	Machine        Machine            `json:"machine"`
	UpDown         map[string]Stat    `json:"up_down_ms"`
	Baseline       Stat               `json:"baseline_shell_ms"`
	XdplabPair     Stat               `json:"xdplab_packet_counter_ms"`
	Ratio          float64            `json:"ratio_xdplab_over_shell"`
	RunAll         Stat               `json:"run_all_s"`
	RunAllOK       bool               `json:"run_all_pass"`
	Scale          map[string][]Point `json:"scale"`
	PerNode        map[string]float64 `json:"per_node_ms"`
	Programs       map[string]float64 `json:"ns_per_packet"`
	Start          map[string]Stat    `json:"start_ms"`
	Capture        map[string]float64 `json:"capture,omitempty"`
	CaptureMissing string             `json:"capture_missing,omitempty"`
	Class          ClassBench         `json:"class_load"`
}

// Machine says where the figures come from.
type Machine struct {
	Kernel string `json:"kernel"`
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Go     string `json:"go"`
}

// Point is one scale measurement.
type Point struct {
	Nodes  int     `json:"nodes"`
	MsOp   float64 `json:"ms_per_deploy_destroy"`
	MsNode float64 `json:"ms_per_node"`
}

var (
	out       = flag.String("out", "docs/benchmarks.md", "report path (JSON and SVG are written beside it)")
	binary    = flag.String("bin", "bin/xdplab", "the xdplab binary to measure, as `make build` makes it")
	reps      = flag.Int("n", 15, "repetitions of each up+down measurement")
	runReps   = flag.Int("run-n", 3, "repetitions of run --all")
	startReps = flag.Int("start-n", 200, "runs of each command whose start time is measured")
	classN    = flag.String("class", "10,30,100", "instance counts of the class-load bench, comma-separated")
	classOnly = flag.Bool("class-only", false, "run only the class-load bench and print its section and figures; write nothing")
)

// startCommands are measured for start time: they need no root and do
// little besides starting, so the figure is the process start.
var startCommands = [][]string{{"version"}, {"list"}, {"help"}}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (sudo make bench)")
	}
	// `make build`'s own output (make bench builds it first), so the
	// figures are those of the binary a learner runs.
	bin, err := filepath.Abs(*binary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("no binary to measure (%w): run `make build`, or `sudo make bench`", err)
	}
	counts, err := parseCounts(*classN)
	if err != nil {
		return fmt.Errorf("-class: %w", err)
	}
	if *classOnly {
		rep := Report{Machine: machine()}
		if err := measureClassLoad(bin, counts, &rep); err != nil {
			return err
		}
		js, err := json.MarshalIndent(rep.Class, "", "  ")
		if err != nil {
			return err
		}
		fmt.Printf("%s\n\n%s", js, classSection(rep.Class, rep.Machine.Cores))
		return nil
	}
	rep := Report{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(),
		UpDown: map[string]Stat{}, Scale: map[string][]Point{}, PerNode: map[string]float64{},
		Programs: map[string]float64{}, Start: map[string]Stat{}}

	step("start time")
	for _, args := range startCommands {
		ms, err := startTimes(bin, args, *startReps)
		if err != nil {
			return err
		}
		rep.Start[strings.Join(args, " ")] = summarize(ms, "ms")
	}

	labs, err := labNames(bin)
	if err != nil {
		return err
	}
	const inst = "xdplabbench"
	exec.Command(bin, "down", "--instance", inst).Run()
	for _, lab := range labs {
		step("up+down " + lab)
		var ms []float64
		for range *reps {
			d, err := timed(bin, "up", lab, "--instance", inst)
			if err != nil {
				exec.Command(bin, "down", "--instance", inst).Run()
				return fmt.Errorf("up %s: %w", lab, err)
			}
			d2, err := timed(bin, "down", lab, "--instance", inst)
			if err != nil {
				return fmt.Errorf("down %s: %w", lab, err)
			}
			ms = append(ms, (d+d2).Seconds()*1000)
		}
		rep.UpDown[lab] = summarize(ms, "ms")
	}

	step("packet_counter against the shell baseline (interleaved)")
	var base, ours []float64
	for i := range *reps {
		d, err := timed("bash", "scripts/bench/baseline-packet-counter.sh", fmt.Sprintf("xdplabbase%d", i), "labs/packet_counter/bpf_bpfel.o")
		if err != nil {
			return fmt.Errorf("baseline script: %w", err)
		}
		base = append(base, d.Seconds()*1000)
		u, err := timed(bin, "up", "packet_counter", "--instance", inst)
		if err != nil {
			return err
		}
		dn, err := timed(bin, "down", "--instance", inst)
		if err != nil {
			return err
		}
		ours = append(ours, (u+dn).Seconds()*1000)
	}
	rep.Baseline, rep.XdplabPair = summarize(base, "ms"), summarize(ours, "ms")
	rep.Ratio = rep.XdplabPair.Median / rep.Baseline.Median

	step("run --all")
	var runs []float64
	rep.RunAllOK = true
	for range *runReps {
		d, err := timed(bin, "run", "--all", "--instance", inst)
		if err != nil {
			rep.RunAllOK = false
		}
		runs = append(runs, d.Seconds())
	}
	rep.RunAll = summarize(runs, "s")

	if err := measureClassLoad(bin, counts, &rep); err != nil {
		return err
	}

	step("scale: BenchmarkDeployLine, BenchmarkDeployStar")
	scaleOut, err := output("go", "test", "-run", "^$", "-bench", "BenchmarkDeploy(Line|Star)", "-benchtime", "5x", "./topology/")
	if err != nil {
		return fmt.Errorf("scale benchmarks: %w\n%s", err, scaleOut)
	}
	parseScale(scaleOut, &rep)

	step("ns/packet: BenchmarkProgram in every package")
	progOut, err := output("go", "test", "-run", "^$", "-bench", "BenchmarkProgram", "-benchtime", "5x", "./labs/...", "./internal/loader/")
	if err != nil {
		return fmt.Errorf("program benchmarks: %w\n%s", err, progOut)
	}
	parseMetric(progOut, "ns/packet", rep.Programs)

	step("capture throughput")
	if _, err := os.Stat("internal/capture"); err == nil {
		capOut, err := output("go", "test", "-run", "^$", "-bench", "BenchmarkCapture", "-benchtime", "3x", "./internal/capture/", "./labs/xdpcap/")
		if err != nil {
			rep.CaptureMissing = "capture benchmark failed: " + firstLine(capOut)
		} else {
			rep.Capture = map[string]float64{}
			parseAllMetrics(capOut, rep.Capture)
		}
	} else {
		rep.CaptureMissing = "no capture engine yet (internal/capture)"
	}

	return write(rep)
}

// measureClassLoad runs the class-load bench into rep. Ctrl-C or SIGTERM
// during it takes every instance down before the bench stops.
func measureClassLoad(bin string, counts []int, rep *Report) error {
	ctx, stop := signal.NotifyContext(context.Background(), classSignals...)
	defer stop()
	var err error
	rep.Class, err = classBench(ctx, bin, counts)
	return err
}

func step(s string) { fmt.Fprintf(os.Stderr, "bench: %s\n", s) }

func output(name string, args ...string) (string, error) {
	b, err := exec.Command(name, args...).CombinedOutput()
	return string(b), err
}

func timed(name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, b)
	}
	return d, nil
}

// startTimes runs one command n times, after a few unmeasured runs that
// bring the binary into the page cache, and returns each run's wall time in
// ms, fork and exec included.
func startTimes(bin string, args []string, n int) ([]float64, error) {
	const warmup = 10
	var ms []float64
	for i := range warmup + n {
		d, err := timed(bin, args...)
		if err != nil {
			return nil, err
		}
		if i >= warmup {
			ms = append(ms, d.Seconds()*1000)
		}
	}
	return ms, nil
}

func labNames(bin string) ([]string, error) {
	b, err := exec.Command(bin, "list", "--json").Output()
	if err != nil {
		return nil, fmt.Errorf("xdplab list: %w", err)
	}
	var rows []struct{ Lab string }
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, err
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Lab)
	}
	return names, nil
}

func machine() Machine {
	var u unix.Utsname
	unix.Uname(&u)
	m := Machine{Kernel: unix.ByteSliceToString(u.Release[:]), Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return m
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

func parseScale(s string, rep *Report) {
	for _, line := range strings.Split(s, "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		shape := strings.TrimPrefix(strings.Split(m[1], "/")[0], "BenchmarkDeploy")
		_, nstr, _ := strings.Cut(m[1], "nodes=")
		n, _ := strconv.Atoi(nstr)
		nsop, _ := strconv.ParseFloat(m[2], 64)
		p := Point{Nodes: n, MsOp: nsop / 1e6}
		p.MsNode = p.MsOp / float64(n)
		rep.Scale[shape] = append(rep.Scale[shape], p)
	}
	for shape, pts := range rep.Scale {
		sort.Slice(pts, func(i, j int) bool { return pts[i].Nodes < pts[j].Nodes })
		// The marginal cost per node: slope of a least-squares line.
		var sx, sy, sxx, sxy float64
		for _, p := range pts {
			x, y := float64(p.Nodes), p.MsOp
			sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
		}
		n := float64(len(pts))
		if d := n*sxx - sx*sx; d != 0 {
			rep.PerNode[shape] = (n*sxy - sx*sy) / d
		}
	}
}

// parseMetric maps "<package>.<benchmark>" to a custom metric's value.
func parseMetric(s, unit string, into map[string]float64) {
	pkg := ""
	for _, line := range strings.Split(s, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/xdplab/xdplab/")
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[3])
		for i := 1; i < len(fields); i++ {
			if fields[i] == unit {
				v, _ := strconv.ParseFloat(fields[i-1], 64)
				into[pkg+" "+strings.TrimPrefix(m[1], "BenchmarkProgram")] = v
			}
		}
	}
}

func parseAllMetrics(s string, into map[string]float64) {
	for _, line := range strings.Split(s, "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[3])
		for i := 1; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i-1], 64)
			if err == nil {
				into[m[1]+" "+fields[i]] = v
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
