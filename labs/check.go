package labs

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
)

// Report is the outcome of checking one lab, with who checked what: a
// grader who merges the reports of a class tells them apart by instance,
// user and host, and tells programs apart by their origin's sha256.
type Report struct {
	Instance string `json:"instance"`
	Lab      string `json:"lab"`
	// Step is the exercise checked; "" is the lab's base exercise.
	Step string `json:"step"`
	// Mode is empty for a lab that runs in no mode (no XDP program).
	Mode Mode `json:"mode,omitempty"`
	// Note says how the lab ran differently from what was asked (run --all
	// --mode native, for a lab without XDP).
	Note string `json:"note,omitempty"`
	// Origin is where the program checked came from.
	Origin provenance.Origin `json:"origin"`
	// User ran the check (the user behind sudo), on Hostname, starting at
	// Timestamp, with xdplab Version built from Commit.
	User      string    `json:"user"`
	Hostname  string    `json:"hostname"`
	Timestamp time.Time `json:"timestamp"`
	Version   string    `json:"version"`
	Commit    string    `json:"commit,omitempty"`

	Results  []Result      `json:"results"`
	Pass     bool          `json:"pass"`
	Verdict  Verdict       `json:"verdict"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Verdict is what a report concludes.
type Verdict string

const (
	// VerdictPass: every expectation was met.
	VerdictPass Verdict = "pass"
	// VerdictFail: the check ran to its end and an expectation was not met.
	VerdictFail Verdict = "fail"
	// VerdictError: the check could not run to its end (Report.Error says
	// why), so its results say nothing about the learner's program.
	VerdictError Verdict = "error"
)

// Outcome is the verdict over several reports. One that could not be
// checked outweighs one that failed: a grader must never read "could not
// check" as a clean fail.
func Outcome(reports []*Report) Verdict {
	v := VerdictPass
	for _, r := range reports {
		switch {
		case r.Verdict == VerdictError:
			return VerdictError
		case !r.Pass:
			v = VerdictFail
		}
	}
	return v
}

// Passed counts the passing results that were checked.
func (r *Report) Passed() int {
	n := 0
	for _, res := range r.Results {
		if res.Pass && res.Skipped == "" {
			n++
		}
	}
	return n
}

// Checked counts the results that were checked, not skipped.
func (r *Report) Checked() int {
	n := 0
	for _, res := range r.Results {
		if res.Skipped == "" {
			n++
		}
	}
	return n
}

func (r *Report) finish(start time.Time) *Report {
	r.Duration = time.Since(start)
	if r.Error == "" && len(r.Results) == 0 {
		r.Error = "the check returned no results: this is a bug in the lab's check, please report it"
	}
	if r.Results == nil {
		r.Results = []Result{} // JSON readers get a list, never null
	}
	r.Pass = r.Error == ""
	for _, res := range r.Results {
		r.Pass = r.Pass && res.Pass
	}
	switch {
	case r.Error != "":
		r.Verdict = VerdictError
	case r.Pass:
		r.Verdict = VerdictPass
	default:
		r.Verdict = VerdictFail
	}
	return r
}

// Check verifies one lab, or every lab that is up when name is "".
func (r *Runner) Check(ctx context.Context, name string) ([]*Report, error) {
	return r.CheckStep(ctx, name, "")
}

// CheckStep is Check that also says which step the learner means to have
// graded (`check <lab> --step S`): a lab up with another step is a usage
// error that names both, rather than a report on a step nobody asked for.
// step "" grades whatever step the lab is up with.
func (r *Runner) CheckStep(ctx context.Context, name, step string) ([]*Report, error) {
	if name != "" {
		var err error
		if step, err = r.askedStep(name, step); err != nil {
			return nil, err
		}
	} else if step != "" {
		return nil, Errorf(ErrUsage, "--step %s names a step of one lab: name the lab too, as in %s", step, r.Cmd("check <lab> --step "+step))
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	var reports []*Report
	err := r.locked(ctx, func() error {
		var err error
		reports, err = r.checkAll(ctx, name, step)
		return err
	})
	return reports, err
}

func (r *Runner) checkAll(ctx context.Context, name, step string) ([]*Report, error) {
	names := []string{name}
	recs := map[string]state.Lab{}
	if name == "" {
		recorded, err := r.store().Labs()
		if err != nil {
			return nil, err
		}
		var up []state.Lab
		var playgrounds []string
		for _, l := range recorded {
			rec, err := r.store().Read(l)
			switch {
			case err != nil:
				return nil, Errorf(ErrEnvironment, "%w: %s cleans up", err, r.Cmd("down "+l))
			case rec.Playground():
				playgrounds = append(playgrounds, l)
				continue
			case rec.Phase != state.PhaseUp:
				return nil, Errorf(ErrNotUp, "%s is half-built (an interrupted up?): %s removes it, %s builds it again", l, r.Cmd("down "+l), r.Cmd("up "+l))
			}
			up = append(up, rec)
		}
		if len(up) == 0 && len(playgrounds) > 0 {
			return nil, Errorf(ErrNotUp, "no lab is up in instance %s, only the playground %s, and a playground has nothing to check: start a lab with %s (`xdplab list` shows them)", r.Instance, strings.Join(playgrounds, ", "), r.Cmd("up <lab>"))
		}
		if len(up) == 0 {
			return nil, Errorf(ErrNotUp, "nothing is up in instance %s: start a lab with %s (`xdplab list` shows them)", r.Instance, r.Cmd("up <lab>"))
		}
		names = names[:0]
		for _, rec := range up {
			names = append(names, rec.Lab)
			recs[rec.Lab] = rec
		}
	}
	var reports []*Report
	for _, n := range names {
		if ctx.Err() != nil {
			// Interrupted while checking an earlier lab: say so for every lab
			// left, so the reports still list them all.
			rec := recs[n]
			mode, _ := ParseMode(rec.Mode)
			rep := r.newReport(n, mode)
			if rec.Origin != nil {
				rep.Origin = *rec.Origin
			}
			rep.Error = interrupted(ctx, "its turn", "the lab is still up", r.Cmd("check "+n))
			reports = append(reports, rep.finish(time.Now()))
			continue
		}
		rep, err := r.check(ctx, n, step)
		if err != nil {
			return reports, err
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

func (r *Runner) check(ctx context.Context, name, step string) (*Report, error) {
	start := time.Now()
	lab, env, rec, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer env.Topo.Close()
	if err := r.sameStep(rec, step); err != nil {
		return nil, err
	}
	rep := r.newReport(name, env.Options.Mode)
	rep.Step = env.Options.Step
	r.checkLab(ctx, lab, env, rec, rep, "the lab is still up", "check "+name)
	rep.finish(start)
	r.recordCheck(rep)
	return rep, nil
}

// askedStep checks that lab name exists and has the step a command asks
// for, and returns the step's title ("" when none is asked for).
func (r *Runner) askedStep(name, step string) (string, error) {
	l, err := r.lab(name)
	if err != nil || step == "" {
		return "", err
	}
	s, err := l.Info().Step(step)
	if err != nil {
		return "", err
	}
	return s.Title(), nil
}

// sameStep refuses to grade a lab up with another step than step, the
// title of the one the learner asked for ("" for whichever is up).
func (r *Runner) sameStep(rec state.Lab, step string) error {
	if up := (Step{Name: rec.Step}).Title(); step != "" && step != up {
		name := rec.Lab
		return Errorf(ErrUsage, "%s is up with step %s, not %s: grade it as it is with %s, or load step %s with %s, then %s",
			name, up, step, r.Cmd("check "+name), step, r.Cmd("down "+name), r.Cmd("up "+name+upFlags(state.Lab{Mode: rec.Mode, Obj: rec.Obj, Step: step, Values: rec.Values})))
	}
	return nil
}

// newReport starts the report of a lab's check: who checks, where, when,
// with which xdplab.
func (r *Runner) newReport(lab string, mode Mode) *Report {
	return &Report{
		Instance: r.Instance, Lab: lab, Mode: mode,
		User: provenance.Invoker().Name, Hostname: provenance.Hostname(), Timestamp: time.Now(),
		Version: r.Version, Commit: r.Commit,
	}
}

// recordCheck keeps the outcome of a check in the lab's record, for the
// class view (status --all-instances), with the origin of the program it
// graded. Call it holding the instance lock. The report is complete
// without it, so a failure to record is only said.
func (r *Runner) recordCheck(rep *Report) {
	st := r.store()
	rec, err := st.Read(rep.Lab)
	if err == nil && rec.Phase == state.PhaseUp {
		rec.LastCheck = &state.Check{
			Verdict: string(rep.Verdict), Passed: rep.Passed(), Total: len(rep.Results), Error: rep.Error,
			At: rep.Timestamp, Duration: rep.Duration, User: rep.User,
		}
		if rep.Origin.Kind != "" {
			origin := rep.Origin
			rec.Origin = &origin
		}
		err = st.Write(rec)
	}
	if err != nil {
		fmt.Fprintf(r.log(), "the result of checking %s was not recorded for `xdplab status --all-instances`: %v\n", rep.Lab, err)
	}
}

// originOf is where the program that up loads with opts comes from.
func originOf(info Info, opts Options) (provenance.Origin, error) {
	if opts.Obj == "" {
		return provenance.Embedded(info.ReferenceObject(opts.Step)), nil
	}
	o, err := provenance.File(opts.Obj, opts.Src)
	if err != nil {
		return o, Errorf(ErrEnvironment, "%w: check that it is still there and readable", err)
	}
	return o, nil
}

// checkLab runs a lab's check once the lab is known to be as up left it, and
// records in rep.Error whatever kept the check from running to its end: the
// lab damaged since up, an interruption, any error of the lab's Check. left
// says what became of the lab, again is the command that checks it again.
func (r *Runner) checkLab(ctx context.Context, lab Lab, env *Env, rec state.Lab, rep *Report, left, again string) {
	rep.Origin = env.Origin
	if problems := r.diagnose(rec, env.Topo); len(problems) > 0 {
		rep.Error = cause(problems)
		return
	}
	if env.Attached != nil {
		rep.Note = "bare: grades the programs your own loader attached"
		// First, is the learner's program there to grade?
		found, ok, err := env.Attached.results(r.Instance, rec.Lab)
		rep.Results = found
		if err != nil {
			rep.Error = err.Error()
		}
		if !ok {
			return
		}
	}
	results, err := safeCheck(ctx, lab, env)
	rep.Results = append(rep.Results, results...)
	rep.Origin = env.Origin // the check may have found the program itself
	switch {
	case ctx.Err() != nil:
		// Whatever the check made of it, traffic cut short proves nothing:
		// a failure judged on it would blame the learner's code.
		rep.Error = interrupted(ctx, "the check finished", left, r.Cmd(again))
		unjudge(rep.Results)
	case err != nil:
		// A pin deleted while the check ran fails it with a bare "no such
		// file": the damage is the cause worth naming.
		if problems := r.diagnose(rec, env.Topo); len(problems) > 0 {
			rep.Error = cause(problems)
		} else {
			rep.Error = err.Error()
		}
	}
}

// unjudge turns the failures of an interrupted check into expectations not
// checked: the traffic they were judged on was cut short.
func unjudge(results []Result) {
	for i, res := range results {
		if !res.Pass && res.Skipped == "" {
			results[i] = Skip(res.Name, res.Expected, "not judged: the check was interrupted before its traffic was complete")
		}
	}
}

// safeCheck runs the lab's check and turns a panic in it into an error, so
// that a bug in one check is reported as "could not check" and `run` still
// takes the lab down, instead of a crash that leaves the lab up.
func safeCheck(ctx context.Context, lab Lab, env *Env) (results []Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the check of %s crashed (%v): this is a bug in xdplab, please report it with the output of `xdplab version` and this stack:\n%s",
				lab.Info().Name, p, debug.Stack())
		}
	}()
	return lab.Check(ctx, env)
}

// interrupted says that a signal stopped a command before something it was
// doing, and how to do it again.
func interrupted(ctx context.Context, before, left, again string) string {
	return fmt.Sprintf("interrupted (%v) before %s; %s: run %s again", context.Cause(ctx), before, left, again)
}

// Run is up, check and down for each lab in turn: the grading entry point.
// A lab that fails to come up is reported as failed and the run goes on; the
// lab is always taken down again.
//
// A mode that a lab does not support is a usage error, unless
// opts.ModeWhereSupported: then such a lab runs in its own default way
// (`run --all --mode native` runs sockex1, which has no XDP, as it always
// does), and its report says so in a note.
func (r *Runner) Run(ctx context.Context, names []string, opts Options) ([]*Report, error) {
	if err := r.learnerProgram(ctx, &opts); err != nil {
		return nil, err
	}
	var plan []planned
	for _, n := range names {
		l, err := r.Registry.Get(n)
		if err != nil {
			return nil, err
		}
		p := planned{lab: l, opts: opts}
		info := l.Info()
		if p.opts.Step, err = stepFor(info, opts.Step); err != nil {
			return nil, err
		}
		again := r.Cmd("run " + n + upFlags(state.Lab{Obj: opts.Obj, Src: opts.Src, Step: p.opts.Step, Values: opts.Values}))
		if p.opts.Mode, err = info.modeFor(opts.Mode, p.opts.Step, again, r.Instance, "run"); err != nil {
			if !opts.ModeWhereSupported {
				return nil, err
			}
			p.opts.Mode, _ = info.modeFor("", p.opts.Step, again, r.Instance, "run")
			p.note = modeNotApplied(info, p.opts.Step, opts.Mode)
		}
		if err := r.tracingPreflight(info, p.opts); err != nil {
			return nil, err
		}
		if err := l.Validate(p.opts); err != nil {
			return nil, err
		}
		plan = append(plan, p)
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	var reports []*Report
	err := r.locked(ctx, func() error {
		var err error
		reports, err = r.run(ctx, plan)
		return err
	})
	return reports, err
}

// planned is one lab of a run with the options it runs with, and a note
// when those differ from what the command line asked for.
type planned struct {
	lab  Lab
	opts Options
	note string
}

// modeNotApplied says why a lab of `run --all` runs in another mode than
// the one asked for.
func modeNotApplied(info Info, step string, asked Mode) string {
	in := info.ForStep(step)
	if len(in.Modes) == 0 {
		return fmt.Sprintf("--mode %s does not apply: %s has no XDP program; it ran as it always does", asked, info.Name)
	}
	if slices.Contains(info.Modes, asked) {
		// The lab has the mode, this step has not.
		return fmt.Sprintf("--mode %s does not apply: %s: %s; it ran in %s mode", asked, stepOf(info.Name, step), in.onlyModes(asked), in.Modes[0])
	}
	return fmt.Sprintf("--mode %s does not apply: %s runs in %s mode only; it ran in %s mode", asked, info.Name, in.Modes[0], in.Modes[0])
}

func (r *Runner) run(ctx context.Context, plan []planned) ([]*Report, error) {
	var reports []*Report
	for _, p := range plan {
		l, opts, name := p.lab, p.opts, p.lab.Info().Name
		start := time.Now()
		rep := r.newReport(name, opts.Mode)
		rep.Note = p.note
		rep.Step = opts.Step
		rep.Origin, _ = originOf(l.Info(), opts) // up says so if the object is gone
		again := "run " + name + upFlags(state.Lab{Mode: string(opts.Mode), Obj: opts.Obj, Src: opts.Src, Step: opts.Step, Values: opts.Values})
		if ctx.Err() != nil {
			// Interrupted during an earlier lab: say so for every lab left, so
			// the summary still lists them all.
			rep.Error = interrupted(ctx, "its turn", "nothing of it was built", r.Cmd(again))
			reports = append(reports, rep.finish(start))
			continue
		}
		if opts.Mode != "" {
			fmt.Fprintf(r.log(), "== %s (%s)\n", name, opts.Mode)
		} else {
			fmt.Fprintf(r.log(), "== %s\n", name)
		}
		if p.note != "" {
			fmt.Fprintf(r.log(), "   %s\n", p.note)
		}
		if err := r.up(ctx, l, opts); err != nil {
			if errors.Is(err, ErrAlreadyUp) {
				return reports, err
			}
			rep.Error = err.Error()
			if ctx.Err() != nil {
				rep.Error = interrupted(ctx, "the lab was up", "what was built is removed", r.Cmd(again))
			}
		} else {
			r.checkUp(ctx, l, rep, again)
		}
		if err := r.teardown(context.Background(), name); err != nil {
			if rep.Error != "" {
				rep.Error += "; "
			}
			rep.Error += fmt.Sprintf("down: %v (%s removes what is left)", err, r.Cmd("down "+name))
		}
		reports = append(reports, rep.finish(start))
	}
	return reports, nil
}

func (r *Runner) checkUp(ctx context.Context, l Lab, rep *Report, again string) {
	_, env, rec, err := r.open(l.Info().Name)
	if err != nil {
		rep.Error = err.Error()
		return
	}
	defer env.Topo.Close()
	r.checkLab(ctx, l, env, rec, rep, "the lab was taken down", again)
}
