package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/course"
)

// TestCheckWatchEveryStep is the learner's loop on every lab and step: up
// from the step's solution, `check --watch` passes its first round; the
// starter saved over the source is rebuilt, reloaded and fails with hints
// that name its TODOs; Ctrl-C then ends the watch with exit 1 and leaves
// the lab up for `down`.
func TestCheckWatchEveryStep(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "clang")
	reg := course.Registry()
	for _, name := range reg.Names() {
		l, err := reg.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range l.Info().Steps {
			t.Run(name+"/"+step.Title(), func(t *testing.T) {
				inst := testutils.Instance(t)
				t.Cleanup(func() { xdplab(t, inst, "down") })
				dir, tmp := t.TempDir(), t.TempDir()
				sol, start := filepath.Join(dir, "solution"), filepath.Join(dir, "starter")
				initArgs := []string{"init", name}
				upArgs := []string{"up", name}
				if step.Name != "" {
					initArgs = append(initArgs, "--step", step.Name)
					upArgs = append(upArgs, "--step", step.Name)
				}
				mustSucceed(t, in(t, dir, nil, append(initArgs, sol, "--solution")...))
				mustSucceed(t, in(t, dir, nil, append(initArgs, start)...))
				src := filepath.Join(sol, name+".c")
				mustSucceed(t, xdplab(t, inst, append(upArgs, "--src", src)...))

				w, first := startWatch(t, inst, tmp, name)
				if !strings.Contains(first, "  PASS ") {
					t.Fatalf("the solution's first round did not pass:\n%s", first)
				}
				saveByRename(t, src, readFile(t, filepath.Join(start, name+".c")))
				r := w.round(t)
				wantRound(t, "starter", r, name+".c changed", "(TODO ", "  FAIL ")
				if code, last := w.stop(t, syscall.SIGINT); code != 1 {
					t.Errorf("Ctrl-C after the starter's round: exit %d\n%s", code, last)
				}
				mustSucceed(t, xdplab(t, inst, "down"))
			})
		}
	}
}
