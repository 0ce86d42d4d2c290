package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/build"
	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/internal/tracing"
	"github.com/xdplab/xdplab/topology"
)

// DefaultPinRoot is the bpffs directory that holds every instance's pins.
const DefaultPinRoot = "/sys/fs/bpf/xdplab"

// Runner performs up, check, down and run for one instance.
type Runner struct {
	Registry *Registry
	Instance string
	// StateDir and PinRoot default to state.DefaultDir and DefaultPinRoot.
	StateDir string
	PinRoot  string
	// LockWait bounds how long a command waits for another one on the same
	// instance; default one minute.
	LockWait time.Duration
	// Log receives progress meant for people; nil discards it.
	Log io.Writer
	// Version is the xdplab version as `xdplab version` prints it, and
	// Commit the revision it was built from, when known: reports carry
	// both.
	Version, Commit string

	told map[string]bool // foreign names already reported by leftAlone
}

func (r *Runner) store() state.Store {
	dir := r.StateDir
	if dir == "" {
		dir = state.DefaultDir
	}
	return state.Store{Dir: dir, Instance: r.Instance}
}

func (r *Runner) pinRoot() string {
	if r.PinRoot != "" {
		return r.PinRoot
	}
	return DefaultPinRoot
}

// PinDir is where a lab of this instance pins its objects.
func (r *Runner) PinDir(lab string) string {
	return filepath.Join(r.pinRoot(), r.Instance, lab)
}

func (r *Runner) log() io.Writer {
	if r.Log == nil {
		return io.Discard
	}
	return r.Log
}

// locked runs fn while holding the instance lock, then removes the
// instance's state directory if fn left it empty, so a command that changed
// nothing leaves no trace either. Before fn, it takes back whatever
// temporary changes a killed command left (see replay).
func (r *Runner) locked(ctx context.Context, fn func() error) error {
	return r.lockedSkipping(ctx, nil, fn)
}

// lockedSkipping is locked, but leaves the undo records of the labs for
// which skip is true to fn, which removes those labs.
func (r *Runner) lockedSkipping(ctx context.Context, skip func(lab string) bool, fn func() error) error {
	wait := r.LockWait
	if wait == 0 {
		wait = time.Minute
	}
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	lk, err := r.store().Lock(lctx)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	r.store().RemoveStale()
	if err := r.replay(skip); err != nil {
		return err
	}
	err = fn()
	if rerr := r.store().RemoveIfEmpty(); err == nil {
		err = rerr
	}
	return err
}

// Cmd spells an xdplab command line on the runner's instance for hints.
func (r *Runner) Cmd(args string) string { return Cmd(r.Instance, args) }

// Preflight checks what every privileged command needs: root and bpffs.
func Preflight() error {
	if os.Geteuid() != 0 {
		return Errorf(ErrNotRoot, "xdplab needs root to create namespaces and load BPF programs: run it with sudo")
	}
	return BPFFSMounted(filepath.Dir(DefaultPinRoot))
}

// ErrNotRoot is returned to unprivileged users of privileged commands.
var ErrNotRoot = errors.New("not root")

// ErrNoBPFFS is returned when /sys/fs/bpf is not a bpffs mount.
var ErrNoBPFFS = errors.New("bpffs not mounted")

// BPFFSMounted reports whether dir is a bpf filesystem; pins (and so programs
// that outlive `up`) need one.
func BPFFSMounted(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		return Errorf(ErrNoBPFFS, "bpffs is not mounted at %s: programs could not stay attached after `up` exits; run `sudo xdplab doctor` (it mounts it) or `sudo mount -t bpf bpf %s`", dir, dir)
	}
	return nil
}

// Up builds the lab's topology and loads its programs. Everything it created
// is removed again if any step fails.
func (r *Runner) Up(ctx context.Context, name string, opts Options) error {
	lab, err := r.Registry.Get(name)
	if err != nil {
		return err
	}
	if err := topology.ValidateInstance(r.Instance); err != nil {
		return Errorf(ErrUsage, "%w", err)
	}
	if err := r.tracingPreflight(lab.Info(), opts); err != nil {
		return err
	}
	if opts.Bare {
		// Nothing of the lab's is loaded: no option about it applies.
		if err := bareOptions(opts, r.Cmd("up "+name+" --bare")); err != nil {
			return err
		}
	} else {
		if err := r.learnerProgram(ctx, &opts); err != nil {
			return err
		}
		if opts.Step, err = stepFor(lab.Info(), opts.Step); err != nil {
			return err
		}
		again := r.Cmd("up " + name + upFlags(state.Lab{Obj: opts.Obj, Src: opts.Src, Step: opts.Step, Values: opts.Values}))
		if opts.Mode, err = lab.Info().modeFor(opts.Mode, opts.Step, again, r.Instance, "up"); err != nil {
			return err
		}
		if err := lab.Validate(opts); err != nil {
			return err
		}
	}
	if err := Preflight(); err != nil {
		return err
	}
	return r.locked(ctx, func() error { return r.up(ctx, lab, opts) })
}

func (r *Runner) up(ctx context.Context, lab Lab, opts Options) error {
	info := lab.Info()
	name := info.Name
	res, err := topology.Resolve(info.Spec(), r.Instance, name)
	if err != nil {
		return err
	}
	var recOrigin *provenance.Origin
	var origin provenance.Origin
	if !opts.Bare {
		// A bare lab's program is the learner's: check finds it, and its origin.
		if origin, err = originOf(info, opts); err != nil {
			return err
		}
		recOrigin = &origin
	}
	rec := state.Lab{Mode: string(opts.Mode), Obj: opts.Obj, Src: opts.Src, Step: opts.Step, Values: opts.Values, Bare: opts.Bare, PinDir: r.PinDir(name), Origin: recOrigin}
	alreadyUp := func(prev state.Lab) error {
		return Errorf(ErrAlreadyUp, "%s is already up in instance %s (since %s%s): check it with %s, or start over with %s",
			name, r.Instance, prev.Created.Format(time.TimeOnly), ModeNote(Mode(prev.Mode)), r.Cmd("check "+name), r.Cmd("down "+name))
	}
	return r.build(ctx, res, rec, alreadyUp, func(dep *topology.Deployed, rec *state.Lab) (err error) {
		if err := r.makePinDir(name); err != nil {
			return err
		}
		st := r.store()
		env := &Env{Instance: r.Instance, Lab: name, Topo: dep, PinDir: rec.PinDir, Options: opts, Origin: origin, Log: r.log(), journal: &st}
		if opts.Bare {
			return nil // the learner attaches; inventory would find nothing
		}
		if err := lab.Up(ctx, env); err != nil {
			return fmt.Errorf("up %s: %w", name, err)
		}
		if rec.Attached, rec.Pins, err = inventory(dep, rec.PinDir); err != nil {
			return fmt.Errorf("up %s: %w", name, err)
		}
		return nil
	})
}

// learnerProgram makes --obj and --src absolute, so that commands run later
// from another directory (check, watch, a suggested up) find them, and
// builds --src into the object the lab loads, next to the source. clang's
// messages go to the log, where the learner reads them.
func (r *Runner) learnerProgram(ctx context.Context, opts *Options) error {
	if opts.Src != "" && opts.Obj != "" {
		return Errorf(ErrUsage, "--src builds the object that --obj names: give one of them")
	}
	for _, p := range []*string{&opts.Obj, &opts.Src} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return Errorf(ErrEnvironment, "%w", err)
		}
		*p = abs
	}
	if opts.Src == "" {
		return nil
	}
	var stderr io.Writer // without a log, clang's messages go into the error
	if r.Log != nil {
		stderr = r.Log
	}
	obj, err := build.Compile(ctx, opts.Src, build.Options{Stderr: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(r.log(), "built %s\n", obj)
	opts.Obj = obj
	return nil
}

// build deploys a resolved topology under the name res.Lab, then runs load
// on it (a lab's programs; nil for a playground), which completes rec. It
// refuses what is someone else's, reports a topology already up through
// alreadyUp, and removes the leftovers of an interrupted build first. The
// record is written before anything is created, and everything is removed
// again if any step fails.
func (r *Runner) build(ctx context.Context, res *topology.Resolved, rec state.Lab, alreadyUp func(prev state.Lab) error, load func(*topology.Deployed, *state.Lab) error) (err error) {
	name := res.Lab
	st := r.store()
	prev, rerr := st.Read(name)
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) && !errors.Is(rerr, state.ErrCorrupt) {
		return Errorf(ErrEnvironment, "%w", rerr)
	}
	// Nothing of someone else's is adopted or replaced: refuse before
	// anything is written or removed.
	if err := res.CheckFree(prev.Namespaces); err != nil {
		return Errorf(ErrEnvironment, "%w", err)
	}
	if err := r.checkPinDirs(name); err != nil {
		return Errorf(ErrEnvironment, "%w", err)
	}
	// What the record says is up, and is there, stays: even when the
	// topology asked for now differs (a playground's file was edited).
	if rerr == nil && prev.Phase == state.PhaseUp && len(prev.Namespaces) > 0 && allMounted(prev.Namespaces) {
		return alreadyUp(prev)
	}
	// Anything else under this name is a leftover of an interrupted up:
	// reconcile by removing it, then build from scratch.
	left, _, _ := topology.Owned(r.Instance, name, prev.Namespaces)
	if len(left) > 0 || pathExists(st.Path(name)) || pathExists(r.PinDir(name)) {
		fmt.Fprintf(r.log(), "found a half-built %s (interrupted earlier?): removing it first\n", name)
		if err := r.teardown(ctx, name); err != nil {
			return err
		}
	}

	rec.Instance, rec.Lab, rec.Phase = r.Instance, name, state.PhaseDeploying
	rec.Namespaces, rec.PID, rec.Created = res.Namespaces(), os.Getpid(), time.Now()
	owner := provenance.Invoker()
	rec.Owner = &owner
	// Record first: a crash after this line leaves a trail for `down`, which
	// vouches for the placeholders of namespaces not yet mounted.
	if err := st.Write(rec); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if terr := r.teardown(context.Background(), name); terr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after failed up: %w", terr))
			}
		}
	}()
	dep, err := res.Deploy(ctx)
	if err != nil {
		return fmt.Errorf("build topology of %s: %w", name, err)
	}
	defer dep.Close()
	if load != nil {
		if err := load(dep, &rec); err != nil {
			return err
		}
	}
	rec.Phase = state.PhaseUp
	return st.Write(rec)
}

// pinDirs are the pin root, the instance's pin directory and the lab's.
func (r *Runner) pinDirs(lab string) []string {
	return []string{r.pinRoot(), filepath.Join(r.pinRoot(), r.Instance), r.PinDir(lab)}
}

// checkPinDirs refuses pin directories that are links: pinning through one
// would put the lab's pins elsewhere, and removing through one would delete
// whatever it points into.
func (r *Runner) checkPinDirs(lab string) error {
	for _, d := range r.pinDirs(lab) {
		if err := state.CheckDir("pin directory", d); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) makePinDir(lab string) error {
	return state.MakeDirs("pin directory", r.pinDirs(lab)...)
}

// teardown removes a lab's pins, namespaces and state, whatever state it is
// in. Unpinning the links detaches the programs; deleting the namespaces
// removes the veths with their addresses and routes. Only namespaces xdplab
// created go: those with the lab's mark, and the placeholders its record
// names.
func (r *Runner) teardown(ctx context.Context, name string) error {
	st := r.store()
	rec, err := st.Read(name)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, state.ErrCorrupt) {
		return Errorf(ErrEnvironment, "%w", err) // a link, say: refuse rather than guess
	}
	var errs []error
	// The tracing programs run for the whole machine until their links go.
	traced := tracingLinks(r.PinDir(name))
	// Examine the namespaces before the pins go: unpinning a link detaches
	// its program in kernel work that holds the rtnl lock for a while, and
	// reading a namespace's mark (a netlink request) would wait for it.
	owned, foreign, err := topology.Owned(r.Instance, name, rec.Namespaces)
	if err != nil {
		errs = append(errs, err)
	}
	r.leftAlone(foreign)
	if err := r.checkPinDirs(name); err != nil {
		errs = append(errs, err)
	} else if err := r.removePinDir(name); err != nil {
		errs = append(errs, err)
	} else if err := awaitReleased(traced); err != nil {
		errs = append(errs, err)
	}
	// The trace buffers of its killed checks and watches.
	if _, err := tracing.RemoveBuffers(tracing.Prefix(r.Instance, name)); err != nil {
		errs = append(errs, err)
	}
	for _, e := range owned {
		if err := namespace.Delete(e.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := st.Remove(name); err != nil {
		errs = append(errs, err)
	}
	// Temporary changes of a killed check went with the lab's namespaces
	// and pins.
	if err := r.store().RemoveUndos(name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removePinDir removes a lab's pins, then the instance's pin directory and
// the pin root once they are empty.
func (r *Runner) removePinDir(lab string) error {
	dir := r.PinDir(lab)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove pins %s: %w", dir, err)
	}
	os.Remove(filepath.Dir(dir)) // the instance's pin dir, once empty
	os.Remove(r.pinRoot())       // and ours, once no instance uses it
	return nil
}

// leftAlone tells the user, once per name, about names with our prefix that
// xdplab did not create and so did not delete.
func (r *Runner) leftAlone(names []string) {
	for _, n := range names {
		if r.told[n] {
			continue
		}
		if r.told == nil {
			r.told = map[string]bool{}
		}
		r.told[n] = true
		fmt.Fprintf(r.log(), "left %s alone: it has this instance's prefix but xdplab did not create it\n", namespace.Path(n))
	}
}

// Down removes one lab, or every lab of the instance when name is "". It
// works from state files and, for what they do not record, from a sweep of
// the instance's pin directory and of the namespaces with the instance's
// prefix and our mark; namespaces someone else made stay.
func (r *Runner) Down(ctx context.Context, name string) ([]string, error) {
	if err := topology.ValidateInstance(r.Instance); err != nil {
		return nil, Errorf(ErrUsage, "%w", err)
	}
	if name != "" {
		// A name that no lab or playground can have never reaches a path:
		// "../x" would name a file outside the instance's state.
		_, err := r.Registry.Get(name)
		if err != nil && (topology.ValidateLabName(name) != nil || !r.hasState(name)) {
			return nil, err
		}
	}
	if os.Geteuid() != 0 {
		return nil, Errorf(ErrNotRoot, "xdplab needs root to remove namespaces and pins: run it with sudo")
	}
	var removed []string
	skip := func(lab string) bool { return name == "" || lab == name }
	err := r.lockedSkipping(ctx, skip, func() error {
		var err error
		removed, err = r.down(ctx, name)
		return err
	})
	return removed, err
}

func (r *Runner) down(ctx context.Context, name string) ([]string, error) {
	st := r.store()
	var targets []string
	if name != "" {
		targets = []string{name}
	} else {
		seen := map[string]bool{}
		recorded, err := st.Labs()
		if err != nil {
			return nil, err
		}
		for _, l := range recorded {
			seen[l] = true
			targets = append(targets, l)
		}
		for _, l := range r.Registry.Names() {
			if !seen[l] {
				seen[l] = true
				targets = append(targets, l)
			}
		}
	}
	var removed []string
	var errs []error
	for _, l := range targets {
		present := r.hasState(l) || pathExists(r.PinDir(l))
		if owned, _, _ := topology.Owned(r.Instance, l, nil); len(owned) > 0 {
			present = true
		}
		if !present {
			continue
		}
		if err := r.teardown(ctx, l); err != nil {
			errs = append(errs, err)
		}
		removed = append(removed, l)
	}
	if name == "" {
		// Whatever else carries the instance's prefix and our mark is ours too.
		swept, foreign, err := topology.Sweep(r.Instance, "", nil)
		if err != nil {
			errs = append(errs, err)
		}
		removed = append(removed, swept...)
		r.leftAlone(foreign)
		instPins := filepath.Join(r.pinRoot(), r.Instance)
		if err := state.CheckDir("pin directory", r.pinRoot()); err != nil {
			errs = append(errs, err)
		} else if err := state.CheckDir("pin directory", instPins); err != nil {
			errs = append(errs, err)
		} else {
			os.RemoveAll(instPins)
			os.Remove(r.pinRoot())
		}
		if err := st.RemoveUndos(""); err != nil {
			errs = append(errs, err)
		}
		if _, err := tracing.RemoveBuffers(tracing.Prefix(r.Instance, "")); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

func (r *Runner) hasState(lab string) bool { return pathExists(r.store().Path(lab)) }

// UpLabs lists the labs of the instance that are fully up.
func (r *Runner) UpLabs() ([]state.Lab, error) {
	st := r.store()
	names, err := st.Labs()
	if err != nil {
		return nil, err
	}
	var up []state.Lab
	for _, n := range names {
		rec, err := st.Read(n)
		if err != nil {
			continue
		}
		if rec.Phase == state.PhaseUp {
			up = append(up, rec)
		}
	}
	return up, nil
}

// Open gives access to a lab that is up: its record and an Env with the
// deployed topology. The caller closes env.Topo.
func (r *Runner) Open(name string) (Lab, *Env, error) {
	lab, env, _, err := r.open(name)
	return lab, env, err
}

// open is Open that also returns the lab's record.
func (r *Runner) open(name string) (Lab, *Env, state.Lab, error) {
	lab, err := r.lab(name)
	if err != nil {
		return nil, nil, state.Lab{}, err
	}
	rec, err := r.store().Read(name)
	if errors.Is(err, os.ErrNotExist) || (err == nil && rec.Phase != state.PhaseUp) {
		return nil, nil, rec, Errorf(ErrNotUp, "%s is not up in instance %s: start it with %s", name, r.Instance, r.Cmd("up "+name))
	}
	if errors.Is(err, state.ErrLink) {
		return nil, nil, rec, Errorf(ErrEnvironment, "%w", err)
	}
	if err != nil {
		return nil, nil, rec, Errorf(ErrEnvironment, "%w (%s cleans up)", err, r.Cmd("down "+name))
	}
	info := lab.Info()
	res, err := topology.Resolve(info.Spec(), r.Instance, name)
	if err != nil {
		return nil, nil, rec, err
	}
	dep, err := res.Open()
	if err != nil {
		return nil, nil, rec, Errorf(ErrNotUp, "%s is recorded as up but its namespaces are gone (%w): %s cleans up", name, err, r.Cmd("down "+name))
	}
	mode, _ := ParseMode(rec.Mode)
	if len(info.Modes) == 0 {
		mode = "" // a lab without XDP runs in no mode, whatever an older state file says
	}
	st := r.store()
	env := &Env{
		Instance: r.Instance, Lab: name, Topo: dep, PinDir: rec.PinDir,
		Options: Options{Mode: mode, Obj: rec.Obj, Src: rec.Src, Step: rec.Step, Values: rec.Values, Bare: rec.Bare},
		Log:     r.log(), journal: &st,
	}
	switch {
	case rec.Bare:
		findBare(env, info) // the origin is what the learner attached
	case rec.Origin != nil:
		env.Origin = *rec.Origin
	default:
		if o, err := originOf(info, env.Options); err == nil {
			env.Origin = o // a record from before xdplab kept origins: the best guess
		}
	}
	return lab, env, rec, nil
}

// WithLab runs fn on a lab that is up while holding the instance lock, so a
// command that changes a lab's maps while it runs (xdplab fw) never
// interleaves with up, check or down. The caller must not call other Runner
// methods from fn: they take the same lock.
func (r *Runner) WithLab(ctx context.Context, name string, fn func(Lab, *Env) error) error {
	if _, err := r.Registry.Get(name); err != nil {
		return err
	}
	if err := topology.ValidateInstance(r.Instance); err != nil {
		return Errorf(ErrUsage, "%w", err)
	}
	if err := Preflight(); err != nil {
		return err
	}
	return r.locked(ctx, func() error {
		lab, env, err := r.Open(name)
		if err != nil {
			return err
		}
		defer env.Topo.Close()
		return fn(lab, env)
	})
}

// stepFor is the step a lab runs as Options.Step spells it: "" for the
// base exercise, whether asked for as "" or "base".
func stepFor(info Info, name string) (string, error) {
	s, err := info.Step(name)
	return s.Name, err
}

// allMounted reports whether every name is a mounted namespace.
func allMounted(names []string) bool {
	for _, n := range names {
		if e, err := namespace.Examine(n); err != nil || e.Kind != namespace.Mounted {
			return false
		}
	}
	return true
}

// pathExists reports whether anything has that path, links not followed.
func pathExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
