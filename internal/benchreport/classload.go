package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/labs"
)

// The class-load bench: n learners on one machine, each running up, check
// and down of the first lab at the same moment, each a process of the built
// binary as a learner's shell would start it.
const (
	classLab = "packet_counter"
	// classPrefix starts every instance name of the bench; the bench's pid
	// follows it, so a later run can tell its own instances from those of a
	// bench that was killed (see sweepClassLeftovers).
	classPrefix = "xdplabclass"
	// sampleEvery is how often processes, memory and mounts are sampled.
	sampleEvery = 20 * time.Millisecond
	// interruptGrace is how long an interrupted xdplab command gets to undo
	// what it started before it is killed.
	interruptGrace = 20 * time.Second
)

var classSteps = []string{"up", "check", "down"}

// ClassLoad is one class-load measurement: Instances instances at once.
type ClassLoad struct {
	Instances int     `json:"instances"`
	WallS     float64 `json:"wall_s"`
	// Failures counts non-zero exits of up, check or down, and instances
	// that left a namespace, pin or state directory behind.
	Failures     int    `json:"failures"`
	FirstFailure string `json:"first_failure,omitempty"`
	// Step is each command's wall time over the instances, in s.
	Step map[string]Stat `json:"step_s"`
	// CPUS is user+sys time of every xdplab process of the run, in s
	// (kernel work done in kernel threads, such as freeing namespaces, is
	// not in it).
	CPUS float64 `json:"cpu_s"`
	// Sampled every sampleEvery: the largest sum of RSS over the xdplab
	// processes alive at one sample (all of it, and its anonymous part: the
	// rest is the binary's pages, which the processes share), the most
	// processes alive at once, the
	// most open files of one process, the most bench namespaces at once, the
	// most mounts under /run/netns.
	PeakRSSMiB      float64 `json:"peak_rss_sum_mib"`
	PeakAnonMiB     float64 `json:"peak_anon_rss_sum_mib"`
	PeakProcesses   int     `json:"peak_processes"`
	PeakFDs         int     `json:"peak_fds_per_process"`
	PeakNamespaces  int     `json:"peak_namespaces"`
	PeakNetnsMounts int     `json:"peak_netns_mounts"`
	// MemPeakMiB is the sampled peak of the memory source (Limits.MemSource)
	// minus its value just before the run; KmemPeakMiB the same for its
	// kernel part where the cgroup reports one; MemAfterMiB what remained
	// above the baseline a second after the last down.
	MemPeakMiB  float64 `json:"mem_peak_mib"`
	KmemPeakMiB float64 `json:"kmem_peak_mib,omitempty"`
	MemAfterMiB float64 `json:"mem_after_mib"`
	// Load is /proc/loadavg (1, 5, 15 min) just before the run.
	Load [3]float64 `json:"load_before"`
}

// Limits are the machine's limits that bound how many instances it holds,
// read when the class-load bench ran.
type Limits struct {
	MemSource   string `json:"mem_source"`
	KmemSource  string `json:"kmem_source,omitempty"`
	MemLimitMiB int64  `json:"mem_limit_mib"` // of the cgroup; -1: none
	MemTotalMiB int64  `json:"mem_total_mib"`
	MemAvailMiB int64  `json:"mem_available_mib"`
	NoFileSoft  uint64 `json:"nofile_soft"`
	NoFileHard  uint64 `json:"nofile_hard"`
	NrOpen      int64  `json:"fs_nr_open"`
	FileMax     int64  `json:"fs_file_max"`
	FilesOpen   int64  `json:"files_open"`
	MemlockSoft uint64 `json:"memlock_soft"`
	MaxNetNS    int64  `json:"max_net_namespaces"`
	NetNSInUse  int    `json:"named_namespaces_before"`
	MountMax    int64  `json:"mount_max"`
	Mounts      int    `json:"mounts_before"`
	NetnsMounts int    `json:"run_netns_mounts_before"`
	NetnsShared bool   `json:"run_netns_shared"`
}

// ClassBench is everything the class-load bench measured.
type ClassBench struct {
	Runs   []ClassLoad `json:"runs"`
	Held   Held        `json:"held"`
	Limits Limits      `json:"limits"`
}

// Held is what an instance that is up holds while none of its commands
// runs, as a learner's lab does all day: Instances were brought up one
// after the other and the memory source read, then they were taken down.
type Held struct {
	Instances int     `json:"instances"`
	MiB       float64 `json:"mib_per_instance"`
	KernelMiB float64 `json:"kernel_mib_per_instance,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// classBench runs the class-load bench for every n in ns, smallest first,
// measures what an instance holds, and reads the machine's limits. An
// interrupt (Ctrl-C, SIGTERM) stops it after every instance is taken down.
func classBench(ctx context.Context, bin string, ns []int) (ClassBench, error) {
	cb := ClassBench{Limits: readLimits()}
	if removed := sweepClassLeftovers(bin); len(removed) > 0 {
		step(fmt.Sprintf("class load: removed %d instances of benches that were killed (%s, ...)", len(removed), removed[0]))
	}
	for _, n := range ns {
		step(fmt.Sprintf("class load: %d instances, each up+check+down of %s at once", n, classLab))
		c, err := classLoad(ctx, bin, n, cb.Limits)
		if err != nil {
			return cb, err
		}
		cb.Runs = append(cb.Runs, c)
		fmt.Fprintf(os.Stderr, "bench:   %s\n", c.Summary())
	}
	if len(ns) > 0 {
		step(fmt.Sprintf("class load: memory held by %d instances that are up", ns[0]))
		var err error
		if cb.Held, err = held(ctx, bin, ns[0], cb.Limits); err != nil {
			return cb, err
		}
	}
	return cb, nil
}

// held brings n instances up one after the other, so that no two commands
// overlap, reads the memory source, and takes them down again.
func held(ctx context.Context, bin string, n int, lim Limits) (Held, error) {
	h := Held{Instances: n}
	s := newSampler(lim, "")
	base := s.mem()
	var insts []string
	for i := range n {
		inst := classInstance(os.Getpid(), i+1)
		insts = append(insts, inst)
		if r := runStep(ctx, bin, "up", inst, s); r.err != nil {
			h.Error = fmt.Sprintf("instance %s: xdplab up %s: %v\n%s", inst, classLab, r.err, r.out)
			break
		}
	}
	if h.Error == "" {
		m := s.mem()
		h.MiB = float64(m.total-base.total) / float64(n) / (1 << 20)
		h.KernelMiB = float64(m.kernel-base.kernel) / float64(n) / (1 << 20)
	}
	for _, inst := range insts {
		if r := runStep(ctx, bin, "down", inst, s); r.err != nil && h.Error == "" && ctx.Err() == nil {
			h.Error = fmt.Sprintf("instance %s: xdplab down %s: %v\n%s", inst, classLab, r.err, r.out)
		}
		if rest := classLeftovers(inst); len(rest) > 0 {
			removeClassInstance(bin, inst)
			if h.Error == "" && ctx.Err() == nil {
				h.Error = fmt.Sprintf("instance %s left behind after down: %s", inst, strings.Join(rest, ", "))
			}
		}
	}
	if ctx.Err() != nil {
		return h, fmt.Errorf("class load interrupted: every instance was taken down: %w", ctx.Err())
	}
	return h, nil
}

// Summary is one line for the progress log.
func (c ClassLoad) Summary() string {
	return fmt.Sprintf("N=%d: wall %.1f s, %d failures, peak RSS sum %.0f MiB (%d processes), memory %+.0f MiB (kernel %+.0f), after %+.0f MiB, cpu %.1f s, load %.2f",
		c.Instances, c.WallS, c.Failures, c.PeakRSSMiB, c.PeakProcesses, c.MemPeakMiB, c.KmemPeakMiB, c.MemAfterMiB, c.CPUS, c.Load[0])
}

// classInstance is the name of the i-th instance of this bench process.
func classInstance(pid, i int) string { return fmt.Sprintf("%s%d_%d", classPrefix, pid, i) }

// classOwner parses the bench pid out of a name that starts with an
// instance of the bench (a namespace, pin or state directory name).
func classOwner(name string) (inst string, pid int, ok bool) {
	inst, _, _ = strings.Cut(name, "-")
	rest, found := strings.CutPrefix(inst, classPrefix)
	if !found {
		return "", 0, false
	}
	p, _, found := strings.Cut(rest, "_")
	pid, err := strconv.Atoi(p)
	if !found || err != nil || pid <= 0 {
		return "", 0, false
	}
	return inst, pid, true
}

// stepRun is one finished xdplab command of an instance.
type stepRun struct {
	inst, step string
	wall, cpu  time.Duration
	err        error
	out        []byte
	end        time.Time
}

func classLoad(ctx context.Context, bin string, n int, lim Limits) (ClassLoad, error) {
	c := ClassLoad{Instances: n, Step: map[string]Stat{}, Load: loadAvg()}
	insts := make([]string, n)
	for i := range insts {
		insts[i] = classInstance(os.Getpid(), i+1)
	}
	s := newSampler(lim, fmt.Sprintf("%s%d_", classPrefix, os.Getpid()))
	base := s.mem()
	s.start()

	var (
		mu    sync.Mutex
		steps []stepRun
		wg    sync.WaitGroup
		gate  = make(chan struct{})
	)
	for _, inst := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			failed := false
			for _, st := range classSteps {
				// After a failed up or check the instance is still taken
				// down, as a learner would.
				if failed && st != "down" {
					continue
				}
				r := runStep(ctx, bin, st, inst, s)
				failed = failed || r.err != nil
				mu.Lock()
				steps = append(steps, r)
				mu.Unlock()
			}
		}()
	}
	t0 := time.Now()
	close(gate)
	wg.Wait()
	c.WallS = time.Since(t0).Seconds()
	peak := s.stop()
	// Namespaces are freed by a kernel worker after their last reference
	// goes: give it a moment before reading what stayed.
	time.Sleep(time.Second)
	after := s.mem()

	c.PeakRSSMiB, c.PeakAnonMiB = float64(peak.rss)/(1<<20), float64(peak.anon)/(1<<20)
	c.PeakProcesses, c.PeakFDs = peak.procs, peak.fds
	c.PeakNamespaces, c.PeakNetnsMounts = peak.namespaces, peak.mounts
	c.MemPeakMiB = float64(peak.mem.total-base.total) / (1 << 20)
	c.MemAfterMiB = float64(after.total-base.total) / (1 << 20)
	if lim.KmemSource != "" {
		c.KmemPeakMiB = float64(peak.mem.kernel-base.kernel) / (1 << 20)
	}

	sort.Slice(steps, func(i, j int) bool { return steps[i].end.Before(steps[j].end) })
	walls := map[string][]float64{}
	for _, r := range steps {
		walls[r.step] = append(walls[r.step], r.wall.Seconds())
		c.CPUS += r.cpu.Seconds()
		if r.err != nil {
			c.fail(fmt.Sprintf("instance %s: xdplab %s %s: %v\n%s", r.inst, r.step, classLab, r.err, r.out))
		}
	}
	for st, w := range walls {
		c.Step[st] = summarize(w, "s")
	}

	// Whatever an instance left is a failure; it is removed all the same,
	// with xdplab's own down first, so the machine is clean for the next run.
	interrupted := ctx.Err() != nil
	for _, inst := range insts {
		left := classLeftovers(inst)
		if len(left) == 0 {
			continue
		}
		if !interrupted {
			c.fail(fmt.Sprintf("instance %s left behind after down: %s", inst, strings.Join(left, ", ")))
		}
		if rest := removeClassInstance(bin, inst); len(rest) > 0 {
			c.fail(fmt.Sprintf("instance %s: still there after `xdplab down --instance %s`, removed by hand: %s", inst, inst, strings.Join(rest, ", ")))
		}
	}
	if interrupted {
		return c, fmt.Errorf("class load interrupted: every instance was taken down: %w", ctx.Err())
	}
	return c, nil
}

func (c *ClassLoad) fail(what string) {
	first, _, _ := strings.Cut(what, "\n")
	fmt.Fprintf(os.Stderr, "bench:   failure: %s\n", first)
	c.Failures++
	if c.FirstFailure == "" {
		c.FirstFailure = strings.TrimSpace(what)
	}
}

// runStep runs one xdplab command of an instance. When ctx ends, the command
// gets SIGINT, as from Ctrl-C, so it undoes what it started.
func runStep(ctx context.Context, bin, st, inst string, s *sampler) stepRun {
	r := stepRun{inst: inst, step: st}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, st, classLab, "--instance", inst)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace
	t := time.Now()
	if err := cmd.Start(); err != nil {
		r.err, r.end = err, time.Now()
		return r
	}
	s.add(cmd.Process.Pid)
	r.err = cmd.Wait()
	r.wall, r.end = time.Since(t), time.Now()
	s.remove(cmd.Process.Pid)
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	r.out = out.Bytes()
	return r
}

// classLeftovers lists what of an instance exists: namespaces with its
// prefix, its pin directory and its state directory.
func classLeftovers(inst string) []string {
	var left []string
	names, _ := namespace.List(inst + "-")
	for _, n := range names {
		left = append(left, namespace.Path(n))
	}
	for _, d := range []string{filepath.Join(labs.DefaultPinRoot, inst), filepath.Join(state.DefaultDir, inst)} {
		if _, err := os.Lstat(d); err == nil {
			left = append(left, d)
		}
	}
	return left
}

// removeClassInstance takes an instance of the bench down with xdplab, then
// removes by hand whatever is still there, and returns that.
func removeClassInstance(bin, inst string) []string {
	exec.Command(bin, "down", "--instance", inst).Run()
	left := classLeftovers(inst)
	for _, p := range left {
		if strings.HasPrefix(p, namespace.Dir) {
			namespace.Delete(filepath.Base(p))
		} else {
			os.RemoveAll(p)
		}
	}
	return left
}

// sweepClassLeftovers removes the instances of bench processes that no
// longer run (a bench killed with SIGKILL cannot clean up after itself).
// Instances of a bench that still runs are left alone.
func sweepClassLeftovers(bin string) []string {
	seen := map[string]bool{}
	var removed []string
	for _, dir := range []string{namespace.Dir, labs.DefaultPinRoot, state.DefaultDir} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			inst, pid, ok := classOwner(e.Name())
			if !ok || seen[inst] || pidAlive(pid) {
				continue
			}
			seen[inst] = true
			removeClassInstance(bin, inst)
			removed = append(removed, inst)
		}
	}
	return removed
}

func pidAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// memSample is one reading of the memory source: the total and, where the
// cgroup tells it apart, the kernel's part (BPF maps and programs,
// namespaces, netdevs, sockets: all charged to the creator's memcg).
type memSample struct{ total, kernel int64 }

// peaks are the largest values a sampler saw.
type peaks struct {
	rss, anon          int64
	procs, fds         int
	namespaces, mounts int
	mem                memSample
}

// sampler watches the xdplab processes of a run, the memory of the cgroup
// the bench runs in, and the namespaces of the run.
type sampler struct {
	lim    Limits
	prefix string // of the run's instance names
	mu     sync.Mutex
	pids   map[int]bool
	p      peaks
	done   chan struct{}
	wg     sync.WaitGroup
}

func newSampler(lim Limits, prefix string) *sampler {
	return &sampler{lim: lim, prefix: prefix, pids: map[int]bool{}, done: make(chan struct{})}
}

func (s *sampler) add(pid int) {
	s.mu.Lock()
	s.pids[pid] = true
	s.mu.Unlock()
}

func (s *sampler) remove(pid int) {
	s.mu.Lock()
	delete(s.pids, pid)
	s.mu.Unlock()
}

func (s *sampler) start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
}

// stop ends the sampling, after one last sample, and returns the peaks.
func (s *sampler) stop() peaks {
	close(s.done)
	s.wg.Wait()
	return s.p
}

func (s *sampler) sample() {
	s.mu.Lock()
	pids := make([]int, 0, len(s.pids))
	for pid := range s.pids {
		pids = append(pids, pid)
	}
	s.mu.Unlock()
	var rss, anon int64
	for _, pid := range pids {
		r, a := processRSS(pid)
		rss, anon = rss+r, anon+a
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
			s.p.fds = max(s.p.fds, len(fds))
		}
	}
	s.p.rss, s.p.anon = max(s.p.rss, rss), max(s.p.anon, anon)
	s.p.procs = max(s.p.procs, len(pids))
	m := s.mem()
	s.p.mem.total, s.p.mem.kernel = max(s.p.mem.total, m.total), max(s.p.mem.kernel, m.kernel)
	names, _ := namespace.List(s.prefix)
	s.p.namespaces = max(s.p.namespaces, len(names))
	s.p.mounts = max(s.p.mounts, netnsMounts())
}

// mem reads the memory source the limits name.
func (s *sampler) mem() memSample {
	var m memSample
	if s.lim.MemSource == "/proc/meminfo" {
		mi := meminfo()
		m.total = (mi["MemTotal"] - mi["MemAvailable"]) << 10
	} else {
		m.total = readInt(s.lim.MemSource)
	}
	if s.lim.KmemSource != "" {
		m.kernel = readInt(s.lim.KmemSource)
	}
	return m
}

// processRSS is a process's resident set and its anonymous part in bytes,
// 0 once the process is gone.
func processRSS(pid int) (rss, anon int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, 0
	}
	return parseStatm(string(b))
}

// parseStatm reads /proc/PID/statm: size, resident and shared (file-backed
// and shmem) pages first.
func parseStatm(s string) (rss, anon int64) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return 0, 0
	}
	res, err1 := strconv.ParseInt(f[1], 10, 64)
	shared, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	page := int64(os.Getpagesize())
	return res * page, (res - shared) * page
}

// memoryCgroup finds the memory accounting files of the cgroup this
// process runs in: cgroup v1's memory controller (usage and its kernel
// part), else cgroup v2's memory.current. ok is false when neither can be
// read, e.g. in a container that hides them.
func memoryCgroup(procCgroup string) (usage, kernel string, ok bool) {
	var v2 string
	sc := bufio.NewScanner(strings.NewReader(procCgroup))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			if ctl == "memory" {
				dir := filepath.Join("/sys/fs/cgroup/memory", parts[2])
				usage, kernel = filepath.Join(dir, "memory.usage_in_bytes"), filepath.Join(dir, "memory.kmem.usage_in_bytes")
				if readable(usage) {
					if !readable(kernel) {
						kernel = ""
					}
					return usage, kernel, true
				}
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
	}
	if v2 != "" {
		if p := filepath.Join("/sys/fs/cgroup", v2, "memory.current"); readable(p) {
			return p, "", true
		}
	}
	return "", "", false
}

func readable(p string) bool {
	_, err := os.ReadFile(p)
	return err == nil
}

func readInt(p string) int64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v
}

// meminfo is /proc/meminfo in kB.
func meminfo() map[string]int64 {
	m := map[string]int64{}
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) > 0 {
			m[k], _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return m
}

// netnsMounts counts the mounts at or under /run/netns in this process's
// mount namespace: one per named namespace, times the copies that mount
// propagation makes.
func netnsMounts() int {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == namespace.Dir || strings.HasPrefix(f[4], namespace.Dir+"/")) {
			n++
		}
	}
	return n
}

func loadAvg() [3]float64 {
	var l [3]float64
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	for i := range min(3, len(f)) {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

func readLimits() Limits {
	var lim Limits
	cg, _ := os.ReadFile("/proc/self/cgroup")
	if usage, kernel, ok := memoryCgroup(string(cg)); ok {
		lim.MemSource, lim.KmemSource = usage, kernel
		lim.MemLimitMiB = -1
		limFile := filepath.Join(filepath.Dir(usage), "memory.limit_in_bytes")
		if filepath.Base(usage) == "memory.current" {
			limFile = filepath.Join(filepath.Dir(usage), "memory.max")
		}
		// cgroup v1 says "no limit" with a huge number, v2 with "max".
		if v := readInt(limFile); v > 0 && v < 1<<60 {
			lim.MemLimitMiB = v >> 20
		}
	} else {
		lim.MemSource = "/proc/meminfo"
		lim.MemLimitMiB = -1
	}
	mi := meminfo()
	lim.MemTotalMiB, lim.MemAvailMiB = mi["MemTotal"]>>10, mi["MemAvailable"]>>10
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		lim.NoFileSoft, lim.NoFileHard = rl.Cur, rl.Max
	}
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl) == nil {
		lim.MemlockSoft = rl.Cur
	}
	lim.NrOpen = readInt("/proc/sys/fs/nr_open")
	lim.FileMax = readInt("/proc/sys/fs/file-max")
	if b, err := os.ReadFile("/proc/sys/fs/file-nr"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			lim.FilesOpen, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	lim.MaxNetNS = readInt("/proc/sys/user/max_net_namespaces")
	if names, err := namespace.List(""); err == nil {
		lim.NetNSInUse = len(names)
	}
	lim.MountMax = readInt("/proc/sys/fs/mount-max")
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		lim.Mounts = bytes.Count(b, []byte("\n"))
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 6 && f[4] == namespace.Dir {
				lim.NetnsShared = lim.NetnsShared || strings.Contains(line, " shared:")
			}
		}
	}
	lim.NetnsMounts = netnsMounts()
	return lim
}

// parseCounts reads "10,30,100".
func parseCounts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("instance count %q: want a positive number", f)
		}
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns, nil
}

// signals that end the class-load bench early, cleanly.
var classSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}
