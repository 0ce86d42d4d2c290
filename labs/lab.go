// Package labs defines what a lab is, the registry that lists them in course
// order, the check model, and the runner behind up, check, down and run.
package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/topology"
)

// Lab is one guided exercise: a topology, programs loaded into it, traffic that
// exercises them and expectations that say whether they behaved. What a lab
// is (its Info) is data; what it does is code.
type Lab interface {
	// Info is the lab's static description: name, topology, modes, flags,
	// attach points, next steps, guide.
	Info() Info
	// Validate rejects bad options before anything is created.
	Validate(opts Options) error
	// Up loads and attaches the lab's programs into a deployed topology and pins
	// whatever must outlive the process under env.PinDir.
	Up(ctx context.Context, env *Env) error
	// Check drives traffic and returns one result per expectation. An error means
	// the check could not run to its end (environment: a port taken, a map
	// full), not that an expectation failed: the report is then an ERROR and
	// check and run exit 2. Return the results gathered so far with it. What
	// the learner's program causes (a dropped packet, a failed connection) is
	// a failed expectation, never an error.
	Check(ctx context.Context, env *Env) ([]Result, error)
	// Watch prints the lab's live view in the tutorial's format until ctx ends.
	Watch(ctx context.Context, env *Env, w io.Writer) error
}

// Mode is how XDP programs are attached. A lab without XDP runs in none ("").
type Mode string

const (
	ModeGeneric Mode = "generic"
	ModeNative  Mode = "native"
)

// ParseMode accepts "generic", "native" (and their kernel synonyms) or ""
// (none given: the lab's default, or no mode for a lab without XDP).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "":
		return "", nil
	case "generic", "skb":
		return ModeGeneric, nil
	case "native", "driver", "drv":
		return ModeNative, nil
	}
	return "", Errorf(ErrUsage, "unknown mode %q (want generic or native)", s)
}

// Options are what the user chose for a lab on `up` or `run`.
type Options struct {
	// Mode is "" for the lab's default, and stays "" for a lab without XDP.
	Mode Mode `json:"mode,omitempty"`
	// Obj is a learner-built BPF ELF to load instead of the embedded program.
	Obj string `json:"obj,omitempty"`
	// Src is a learner's C source: the runner builds it (internal/build)
	// into Obj before Validate, so a lab sees only Obj.
	Src string `json:"src,omitempty"`
	// Step is the exercise the lab runs and grades: "" for the base
	// exercise, else the name of one of Info.Steps.
	Step string `json:"step,omitempty"`
	// Values holds the lab's own flags by name.
	Values map[string][]string `json:"values,omitempty"`
	// Bare builds the topology only: the learner loads and attaches their
	// own program inside a node, and check grades what it finds there.
	Bare bool `json:"bare,omitempty"`
	// ModeWhereSupported lets Run take labs that do not support Mode: they
	// run in their own default way, and their reports say so
	// (`run --all --mode native`).
	ModeWhereSupported bool `json:"-"`
}

// Env is what a lab gets to work with: the deployed topology and where to pin.
type Env struct {
	Instance string
	Lab      string
	Topo     *topology.Deployed
	// PinDir is the lab's own directory on bpffs; everything pinned there is
	// removed by `down`.
	PinDir  string
	Options Options
	// Log receives progress lines meant for the user.
	Log io.Writer
	// Attached is, in a bare lab, what runs at its attach points: the
	// learner's programs, whose maps grade.OpenMap opens by name. It is
	// nil in a lab that up loaded.
	Attached *Attached
	// Origin is where the lab's program came from, as up recorded it. A
	// check that finds the program it grades for itself (one the learner
	// attached, bare mode) sets it, and the report carries what it set.
	Origin provenance.Origin
	// journal holds the undo records of temporary changes (WithUndo).
	journal *state.Store
}

// Pin is the path of a named pin in the lab's pin directory.
func (e *Env) Pin(name string) string { return filepath.Join(e.PinDir, name) }

// Result is one checked expectation.
type Result struct {
	Name     string `json:"name"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	Pass     bool   `json:"pass"`
	Hint     string `json:"hint,omitempty"`
	// Skipped says why the expectation was not checked (a bare lab cannot
	// do what needs the lab's own pins). It neither passes nor fails.
	Skipped string `json:"skipped,omitempty"`
}

// Skip builds a Result for an expectation that could not be checked, and
// says why, so that a report never passes it silently.
func Skip(name, expected, why string) Result {
	return Result{Name: name, Expected: expected, Observed: "not checked", Pass: true, Skipped: why}
}

// Expect builds a Result that passes when observed equals expected.
func Expect(name string, expected, observed any, hint string) Result {
	e, o := fmt.Sprint(expected), fmt.Sprint(observed)
	r := Result{Name: name, Expected: e, Observed: o, Pass: e == o}
	if !r.Pass {
		r.Hint = hint
	}
	return r
}

// Assert builds a Result from a condition the lab evaluated itself.
func Assert(name string, pass bool, expected, observed, hint string) Result {
	r := Result{Name: name, Expected: expected, Observed: observed, Pass: pass}
	if !pass {
		r.Hint = hint
	}
	return r
}

// Errors that the CLI maps to exit code 2 (usage or environment).
var (
	ErrUsage       = errors.New("usage")
	ErrUnknownLab  = errors.New("unknown lab")
	ErrNotUp       = errors.New("lab is not up")
	ErrAlreadyUp   = errors.New("lab is already up")
	ErrEnvironment = errors.New("environment")
)

// Capturer is implemented by labs whose program exits through an xdpcap
// hook: it says where the hook and the lab's link and program are pinned,
// for `xdplab capture <lab>`.
type Capturer interface {
	CapturePoints(pinDir string) (hook string, entry capture.EntryPoint)
}

// InstanceFlag is " --instance NAME" for commands suggested to the learner,
// or "" for the default instance.
func InstanceFlag(instance string) string {
	if instance == "" || instance == DefaultInstance {
		return ""
	}
	return " --instance " + instance
}

// Cmd spells an xdplab command line for hints, in backquotes, with
// --instance when it is not the default, so that pasting it acts on the same
// instance.
func Cmd(instance, args string) string {
	return "`xdplab " + args + InstanceFlag(instance) + "`"
}

// kindError carries a sentinel for errors.Is without repeating its text: the
// message alone is what the learner reads.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// Errorf formats a message that errors.Is matches against kind. %w in format
// wraps further errors as with fmt.Errorf.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}
