package labs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xdplab/xdplab/internal/build"
	"github.com/xdplab/xdplab/internal/filewatch"
	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
)

// CheckWatch is `check <lab> --watch`: it checks a lab up from the
// learner's program (--src or --obj), then, each time the source (or the
// headers of its workspace's include/) or the object changes, rebuilds it
// (--src), reloads it into the lab's topology (Reload) and checks it again,
// printing a compact block to w each time. It returns when ctx ends, with
// the lab left up, running the last program that loaded, and the verdict
// on that program: pass or fail as its last check said, error when it
// could not be checked (the last build or load failed, or the check did not
// run to its end). step is as for CheckStep.
func (r *Runner) CheckWatch(ctx context.Context, name, step string, w io.Writer) (Verdict, error) {
	step, err := r.askedStep(name, step)
	if err != nil {
		return VerdictError, err
	}
	if err := Preflight(); err != nil {
		return VerdictError, err
	}
	var rec state.Lab
	err = r.locked(ctx, func() error {
		_, env, up, err := r.open(name)
		if err != nil {
			return err
		}
		env.Topo.Close()
		rec = up
		return r.sameStep(rec, step)
	})
	if err != nil {
		return VerdictError, err
	}
	if err := r.watchable(rec); err != nil {
		return VerdictError, err
	}

	wl := &watchLoop{r: r, name: name, step: step, src: rec.Src, obj: rec.Obj, w: w, verdict: VerdictError, why: "nothing was checked", running: "the program up loaded"}
	if rec.Origin != nil {
		wl.running = fmt.Sprintf("%s, loaded by up", rec.Origin)
	}
	files, headers := []string{rec.Obj}, []string(nil)
	if rec.Src != "" {
		files, headers = []string{rec.Src}, []string{filepath.Join(wl.dir(), "include")}
	}
	fw, err := filewatch.New(files, headers, filewatch.Quiet)
	if err != nil {
		return VerdictError, Errorf(ErrEnvironment, "check %s --watch: %w", name, err)
	}
	defer fw.Close()
	if rec.Src != "" {
		fmt.Fprintf(w, "watching %s and the headers under %s: each save rebuilds, reloads and checks %s%s; Ctrl-C stops watching and leaves the lab up\n",
			rec.Src, headers[0], name, InstanceFlag(r.Instance))
	} else {
		fmt.Fprintf(w, "watching %s: each time you rebuild it, it is reloaded and %s%s is checked; Ctrl-C stops watching and leaves the lab up\n",
			rec.Obj, name, InstanceFlag(r.Instance))
	}
	if err := wl.round(ctx, nil, rec.Origin); err != nil {
		return VerdictError, err
	}
	for {
		select {
		case <-ctx.Done():
			wl.stop()
			return wl.verdict, nil
		case c := <-fw.Changes():
			if err := wl.round(ctx, &c, nil); err != nil {
				return VerdictError, err
			}
		}
	}
}

// watchable refuses a lab whose program xdplab did not load from a file
// of the learner's: there is nothing to rebuild and reload.
func (r *Runner) watchable(rec state.Lab) error {
	name := rec.Lab
	fromSrc := r.Cmd("up " + name + upFlags(state.Lab{Mode: rec.Mode, Src: "FILE.c", Step: rec.Step, Values: rec.Values}))
	switch {
	case rec.Bare:
		return Errorf(ErrUsage, "--watch needs a lab up with --src or --obj, and %s is up --bare: your own loader loads your program, which xdplab cannot reload. Run %s after each load, or let xdplab build and load it: %s, then %s, then %s",
			name, r.Cmd("check "+name), r.Cmd("down "+name), fromSrc, r.Cmd("check "+name+" --watch"))
	case rec.Obj == "":
		return Errorf(ErrUsage, "--watch needs a lab up with --src or --obj, and %s runs its embedded program: there is no file of yours to watch. Bring it up from your source: %s, then %s, then %s (--obj FILE.o in place of --src loads an object your own Makefile builds)",
			name, r.Cmd("down "+name), fromSrc, r.Cmd("check "+name+" --watch"))
	}
	return nil
}

// watchLoop is the state of one `check --watch`.
type watchLoop struct {
	r          *Runner
	name, step string
	src, obj   string
	w          io.Writer
	// good is the object that runs in the lab, as it was loaded; nil when
	// unknown (it changed on disk since up). A load that fails puts it back.
	good []byte
	// running says what runs in the lab, for the last line.
	running string
	// verdict is on the program that runs; why says it in words.
	verdict Verdict
	why     string
}

// dir is the directory of the file watched.
func (wl *watchLoop) dir() string {
	if wl.src != "" {
		return filepath.Dir(wl.src)
	}
	return filepath.Dir(wl.obj)
}

func clock() string { return time.Now().Format("15:04:05") }

// round builds, reloads and checks once: for a change, or first (change nil)
// for the program as up recorded it (upOrigin), which is only checked when
// the files are still what up loaded. The error is one that ends the watch
// (the lab is gone); whatever the learner's program did is printed.
func (wl *watchLoop) round(ctx context.Context, change *filewatch.Change, upOrigin *provenance.Origin) error {
	w := wl.w
	if change != nil {
		fmt.Fprintf(w, "\n%s  %s changed\n", clock(), wl.names(change.Files))
		if change.Err != nil {
			fmt.Fprintf(w, "          (%v: some changes may have gone unseen, so everything is built again)\n", change.Err)
		}
	}
	var srcBytes []byte
	if wl.src != "" {
		// Read before the build: a save during the build is seen as one
		// more change, and built in its turn.
		var err error
		if srcBytes, err = os.ReadFile(wl.src); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				wl.removed(wl.src)
				return nil
			}
			wl.failed("the last build failed", fmt.Sprintf("BUILD FAILED: %v", err))
			return nil
		}
	}
	objBytes, objErr := os.ReadFile(wl.obj)
	if wl.src == "" && errors.Is(objErr, fs.ErrNotExist) {
		wl.removed(wl.obj)
		return nil
	}
	reload := true
	if upOrigin != nil && objErr == nil && upOrigin.SHA256 == provenance.Sum(objBytes) &&
		(wl.src == "" || upOrigin.SrcSHA256 == provenance.Sum(srcBytes)) {
		// Unchanged since up: what runs is what is on disk.
		reload = false
		wl.good = objBytes
	}
	if reload && wl.src != "" {
		if _, err := build.Compile(ctx, wl.src, build.Options{Out: wl.obj, Stderr: w}); err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: the lab runs what it ran
			}
			wl.failed("the last build failed", fmt.Sprintf("BUILD FAILED: %v", err))
			return nil
		}
		objBytes, objErr = os.ReadFile(wl.obj)
	}
	if reload && objErr != nil {
		wl.failed("the last load failed", fmt.Sprintf("LOAD FAILED: %v", objErr))
		return nil
	}

	var rep *Report
	var loadErr error
	loaded := false
	err := wl.r.locked(ctx, func() error {
		if reload {
			if loadErr = wl.reload(ctx, objBytes, srcBytes); loadErr != nil {
				return nil
			}
			loaded = true
		}
		var err error
		rep, err = wl.r.check(ctx, wl.name, wl.step)
		return err
	})
	switch {
	case errors.Is(loadErr, ErrNotUp):
		return loadErr // taken down meanwhile: nothing left to watch
	case loadErr != nil:
		// Whatever the lab refused (a verifier rejection, other names, a
		// map too small for the --drop rules it is up with) is the
		// learner's to fix: shown, and the watch goes on.
		writeTail(w, loadErr.Error(), verifierTail)
		if errors.Is(loadErr, ErrNoProgram) {
			wl.running = ""
		}
		wl.failed("the last load failed", "LOAD FAILED")
		return nil
	case ctx.Err() != nil:
		// Interrupted: the program that runs now is graded only if its
		// check ran to its end.
		if rep != nil && rep.Verdict != VerdictError {
			break
		}
		if loaded || rep != nil {
			wl.verdict, wl.why = VerdictError, "its check was interrupted"
		}
		return nil
	case err != nil:
		return err
	}
	for _, res := range rep.Results {
		if !res.Pass {
			writeResult(w, res)
		}
	}
	took := fmt.Sprintf("(%.1f s)", rep.Duration.Seconds())
	switch rep.Verdict {
	case VerdictError:
		fmt.Fprintf(w, "%s  ERROR could not check: %s %s\n", clock(), rep.Error, took)
		wl.why = "its last check could not run to its end"
	default:
		skipped := ""
		if n := len(rep.Results) - rep.Checked(); n > 0 {
			skipped = fmt.Sprintf(", %d skipped", n)
		}
		fmt.Fprintf(w, "%s  %s %d/%d%s %s\n", clock(), strings.ToUpper(string(rep.Verdict)), rep.Passed(), rep.Checked(), skipped, took)
		wl.why = "its last check " + map[Verdict]string{VerdictPass: "passed", VerdictFail: "failed"}[rep.Verdict]
	}
	wl.verdict = rep.Verdict
	return nil
}

// verifierTail is how many lines of a load error are shown: the end of a
// verifier log says what it refused, and the log can run to thousands of
// lines.
const verifierTail = 30

// reload loads objBytes, the object as read from wl.obj, into the lab;
// srcBytes are the source it was built from. The caller holds the lock.
func (wl *watchLoop) reload(ctx context.Context, objBytes, srcBytes []byte) error {
	// A file rewritten while it loaded (a learner's make) may have loaded
	// as either version: load again until what was read is what is there,
	// so that the recorded sha256 is the program's.
	for range 3 {
		origin := provenance.Origin{Kind: provenance.KindObj, Obj: wl.obj, SHA256: provenance.Sum(objBytes)}
		if wl.src != "" {
			origin.Kind, origin.Src, origin.SrcSHA256 = provenance.KindSrc, wl.src, provenance.Sum(srcBytes)
		}
		if err := wl.r.reload(ctx, wl.name, origin, wl.good); err != nil {
			return err
		}
		wl.good = objBytes
		wl.running = fmt.Sprintf("%s, loaded at %s", origin, clock())
		now, err := os.ReadFile(wl.obj)
		if err != nil || bytes.Equal(now, objBytes) {
			return nil
		}
		fmt.Fprintf(wl.w, "%s  %s changed while it loaded: loading it again\n", clock(), filepath.Base(wl.obj))
		objBytes = now
	}
	return nil
}

// removed says that the file watched is gone (make clean, an editor that
// deletes before it writes): nothing was built or loaded, so the verdict
// on the program that runs stands.
func (wl *watchLoop) removed(file string) {
	fmt.Fprintf(wl.w, "%s  %s is gone; waiting for it to be written again\n", clock(), filepath.Base(file))
}

// failed prints why a round stopped before a check, and what runs now:
// the program that runs was not built from the learner's latest files, so
// nothing is said of them.
func (wl *watchLoop) failed(why, what string) {
	wl.verdict, wl.why = VerdictError, why
	still := "the lab runs no program"
	if wl.running != "" {
		still = "the lab still runs " + wl.running
	}
	fmt.Fprintf(wl.w, "%s  %s; %s; waiting for the next change\n", clock(), what, still)
}

// stop prints the last line: what stays up, and the verdict the exit code
// carries.
func (wl *watchLoop) stop() {
	code := map[Verdict]int{VerdictPass: 0, VerdictFail: 1, VerdictError: 2}[wl.verdict]
	if wl.running == "" {
		fmt.Fprintf(wl.w, "\nstopped watching; %s stays up with no program loaded\n", wl.name)
	} else {
		fmt.Fprintf(wl.w, "\nstopped watching; %s stays up, running %s\n", wl.name, wl.running)
	}
	fmt.Fprintf(wl.w, "%s: exit %d\n", wl.why, code)
}

// names are the changed files, relative to the watched directory.
func (wl *watchLoop) names(files []string) string {
	if len(files) == 0 {
		return "something"
	}
	var rel []string
	for _, f := range files {
		if r, err := filepath.Rel(wl.dir(), f); err == nil {
			f = r
		}
		rel = append(rel, f)
	}
	return strings.Join(rel, ", ")
}

// writeTail prints msg, or for a long one its first line and its last n:
// enough of a verifier log to see what it refused and where.
func writeTail(w io.Writer, msg string, n int) {
	lines := strings.Split(strings.TrimRight(msg, "\n"), "\n")
	if len(lines) > n+1 {
		left := len(lines) - 1 - n
		lines = append([]string{lines[0], fmt.Sprintf("... (%d lines left out)", left)}, lines[len(lines)-n:]...)
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}
