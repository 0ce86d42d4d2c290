package labs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xdplab/xdplab/internal/state"
)

// Report is the outcome of checking one lab.
type Report struct {
	Instance string        `json:"instance"`
	Lab      string        `json:"lab"`
	Mode     Mode          `json:"mode"`
	Results  []Result      `json:"results"`
	Pass     bool          `json:"pass"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Passed counts the passing results.
func (r *Report) Passed() int {
	n := 0
	for _, res := range r.Results {
		if res.Pass {
			n++
		}
	}
	return n
}

func (r *Report) finish(start time.Time) *Report {
	r.Duration = time.Since(start)
	r.Pass = r.Error == "" && len(r.Results) > 0
	for _, res := range r.Results {
		r.Pass = r.Pass && res.Pass
	}
	return r
}

// Check verifies one lab, or every lab that is up when name is "".
func (r *Runner) Check(ctx context.Context, name string) ([]*Report, error) {
	if name != "" {
		if _, err := r.Registry.Get(name); err != nil {
			return nil, err
		}
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	var reports []*Report
	err := r.locked(ctx, func() error {
		var err error
		reports, err = r.checkAll(ctx, name)
		return err
	})
	return reports, err
}

func (r *Runner) checkAll(ctx context.Context, name string) ([]*Report, error) {
	names := []string{name}
	if name == "" {
		recorded, err := r.store().Labs()
		if err != nil {
			return nil, err
		}
		var up []state.Lab
		for _, l := range recorded {
			rec, err := r.store().Read(l)
			switch {
			case err != nil:
				return nil, Errorf(ErrEnvironment, "%w: %s cleans up", err, r.Cmd("down "+l))
			case rec.Phase != state.PhaseUp:
				return nil, Errorf(ErrNotUp, "%s is half-built (an interrupted up?): %s removes it, %s builds it again", l, r.Cmd("down "+l), r.Cmd("up "+l))
			}
			up = append(up, rec)
		}
		if len(up) == 0 {
			return nil, Errorf(ErrNotUp, "nothing is up in instance %s: start a lab with %s (`xdplab list` shows them)", r.Instance, r.Cmd("up <lab>"))
		}
		names = names[:0]
		for _, rec := range up {
			names = append(names, rec.Lab)
		}
	}
	var reports []*Report
	for _, n := range names {
		rep, err := r.check(ctx, n)
		if err != nil {
			return reports, err
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

func (r *Runner) check(ctx context.Context, name string) (*Report, error) {
	start := time.Now()
	lab, env, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer env.Topo.Close()
	rep := &Report{Instance: r.Instance, Lab: name, Mode: env.Options.Mode}
	results, err := lab.Check(ctx, env)
	rep.Results = results
	if err != nil {
		rep.Error = err.Error()
	}
	return rep.finish(start), nil
}

// Run is up, check and down for each lab in turn: the grading entry point.
// A lab that fails to come up is reported as failed and the run goes on; the
// lab is always taken down again.
func (r *Runner) Run(ctx context.Context, names []string, opts Options) ([]*Report, error) {
	var labs []Lab
	for _, n := range names {
		l, err := r.Registry.Get(n)
		if err != nil {
			return nil, err
		}
		if err := l.Validate(opts); err != nil {
			return nil, err
		}
		labs = append(labs, l)
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	if opts.Mode == "" {
		opts.Mode = ModeGeneric
	}
	var reports []*Report
	err := r.locked(ctx, func() error {
		var err error
		reports, err = r.run(ctx, labs, opts)
		return err
	})
	return reports, err
}

func (r *Runner) run(ctx context.Context, labs []Lab, opts Options) ([]*Report, error) {
	var reports []*Report
	for _, l := range labs {
		if err := ctx.Err(); err != nil {
			return reports, err
		}
		start := time.Now()
		rep := &Report{Instance: r.Instance, Lab: l.Name(), Mode: opts.Mode}
		fmt.Fprintf(r.log(), "== %s (%s)\n", l.Name(), opts.Mode)
		if err := r.up(ctx, l, opts); err != nil {
			if errors.Is(err, ErrAlreadyUp) {
				return reports, err
			}
			rep.Error = err.Error()
		} else {
			rep.Results, err = r.checkUp(ctx, l)
			if err != nil {
				rep.Error = err.Error()
			}
		}
		if err := r.teardown(context.Background(), l.Name()); err != nil {
			if rep.Error != "" {
				rep.Error += "; "
			}
			rep.Error += "down: " + err.Error()
		}
		reports = append(reports, rep.finish(start))
	}
	return reports, nil
}

func (r *Runner) checkUp(ctx context.Context, l Lab) ([]Result, error) {
	_, env, err := r.Open(l.Name())
	if err != nil {
		return nil, err
	}
	defer env.Topo.Close()
	return l.Check(ctx, env)
}
