package labs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
)

// ErrNoProgram marks a reload that took the lab's programs away and could
// put back neither the new ones nor the ones that ran before: the lab is up
// with nothing loaded.
var ErrNoProgram = errors.New("the lab runs no program")

// Reload replaces the programs of a lab that is up from the learner's
// program (--src or --obj) with those of the object origin.Obj, keeping its
// topology: the namespaces, interfaces and addresses stay, the lab's pins
// and links go, and the lab's Up runs again with the same mode, step and
// flags. origin is recorded as the lab's origin: its SHA256 must be that of
// the bytes the caller read from origin.Obj.
//
// An object the lab refuses (wrong names or types) changes nothing. One that
// fails to load once the old programs went (a verifier rejection) is
// replaced by fallback, the bytes of the object that ran before, so that
// the lab keeps running the last program that loaded; without a fallback,
// or if it fails too, the error wraps ErrNoProgram.
func (r *Runner) Reload(ctx context.Context, name string, origin provenance.Origin, fallback []byte) error {
	if _, err := r.lab(name); err != nil {
		return err
	}
	if err := Preflight(); err != nil {
		return err
	}
	return r.locked(ctx, func() error { return r.reload(ctx, name, origin, fallback) })
}

// reload is Reload for a caller that holds the instance lock.
func (r *Runner) reload(ctx context.Context, name string, origin provenance.Origin, fallback []byte) error {
	lab, env, rec, err := r.open(name)
	if err != nil {
		return err
	}
	defer env.Topo.Close()
	if rec.Bare || rec.Obj == "" {
		return Errorf(ErrUsage, "%s does not run a program of yours that xdplab loaded: only a lab up with --src or --obj is reloaded", name)
	}
	opts := env.Options
	opts.Obj = origin.Obj
	if err := lab.Validate(opts); err != nil {
		return err
	}
	// Half a load is worse than a second's wait for Ctrl-C: what follows
	// runs to its end.
	ctx = context.WithoutCancel(ctx)
	if err := unload(rec.PinDir); err != nil {
		return Errorf(ErrEnvironment, "reload %s: %w: %s", name, err, rebuildFix(r.Instance, rec))
	}
	loadErr := r.load(ctx, lab, env, opts, origin, &rec)
	if loadErr == nil {
		rec.Origin = &origin
		rec.LastCheck = nil // it graded the program that went
		return r.store().Write(rec)
	}
	loadErr = fmt.Errorf("reload %s: %w", name, loadErr)
	gone := func(why string) error {
		return errors.Join(loadErr, Errorf(ErrNoProgram, "%s runs no program now: %s; the next program of yours that loads puts one back, or start over with %s and %s",
			name, why, r.Cmd("down "+name), r.Cmd("up "+name+upFlags(rec))))
	}
	if err := unload(rec.PinDir); err != nil {
		return gone(fmt.Sprintf("what the failed load left could not be removed (%v)", err))
	}
	if fallback == nil {
		return gone("the program that ran before was not kept")
	}
	var before provenance.Origin
	if rec.Origin != nil {
		before = *rec.Origin // rec is still as it was before the load
	}
	if err := r.loadBytes(ctx, lab, env, opts, fallback, before, &rec); err != nil {
		unload(rec.PinDir)
		return gone(fmt.Sprintf("the program that ran before did not load again (%v)", err))
	}
	// The origin stays that of the program that ran before: it runs again.
	if err := r.store().Write(rec); err != nil {
		return errors.Join(loadErr, err)
	}
	return loadErr
}

// load runs the lab's Up with opts in the lab's existing topology and
// records what it left attached and pinned.
func (r *Runner) load(ctx context.Context, lab Lab, env *Env, opts Options, origin provenance.Origin, rec *state.Lab) error {
	env.Options, env.Origin = opts, origin
	if err := lab.Up(ctx, env); err != nil {
		return err
	}
	var err error
	rec.Attached, rec.Pins, err = inventory(env.Topo, rec.PinDir)
	return err
}

// loadBytes is load from an object held in memory: it goes to a file of
// its own for the loader, removed once loaded.
func (r *Runner) loadBytes(ctx context.Context, lab Lab, env *Env, opts Options, obj []byte, origin provenance.Origin, rec *state.Lab) error {
	f, err := os.CreateTemp("", "xdplab-reload-*.o")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(obj)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	opts.Obj = f.Name()
	return r.load(ctx, lab, env, opts, origin, rec)
}

// unload takes a lab's programs off their hooks and removes every pin in
// its pin directory, which stays. Links are detached explicitly rather than
// only unpinned: the kernel frees an unpinned link later, from a work
// queue, and a program attached before then would find the interface
// still taken.
func unload(pinDir string) error {
	entries, err := os.ReadDir(pinDir)
	if err != nil {
		return fmt.Errorf("read pin directory: %w", err)
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(pinDir, e.Name())
		if pin, err := describePin(p); err == nil && pin.Kind == state.PinLink {
			if l, err := link.LoadPinnedLink(p, nil); err == nil {
				// A link of a kind that cannot be detached goes with its pin.
				if err := l.Detach(); err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
					errs = append(errs, fmt.Errorf("detach %s: %w", p, err))
				}
				l.Close()
			}
		}
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, fmt.Errorf("remove pin %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
