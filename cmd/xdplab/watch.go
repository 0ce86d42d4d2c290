package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
)

// minInterval keeps watch from spinning on the maps.
const minInterval = 100 * time.Millisecond

func (a *app) watchCmd() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "live view of a lab's maps and events, in its tutorial's format (Ctrl-C stops); without <lab>, the lab that is up",
		ArgsUsage: "[<lab>]",
		Flags: withInstance(&cli.DurationFlag{Name: "interval", Value: time.Second,
			Usage: "how often counters are read and printed (`DURATION`: 500ms, 2s); events print as they come"}),
		Before: needRoot,
		Action: a.act(func(c *cli.Context, r *labs.Runner) error {
			interval := c.Duration("interval")
			if interval < minInterval {
				return usageErr("watch: --interval %s is too short: give at least %s, as in %s", interval, minInterval, r.Cmd("watch --interval 500ms"))
			}
			name, err := a.watchedLab(c, r)
			if err != nil {
				return err
			}
			lab, env, err := r.Open(name)
			if err != nil {
				return err
			}
			defer env.Topo.Close()
			fmt.Printf("watching %s in instance %s: counters every %s, events as they come (Ctrl-C stops)\n", name, r.Instance, interval)
			fmt.Println("waiting for packets…")
			return lab.Watch(labs.WithInterval(c.Context, interval), env, &skipBlank{w: os.Stdout})
		}),
	}
}

// watchedLab is the lab named, or the only lab that is up.
func (a *app) watchedLab(c *cli.Context, r *labs.Runner) (string, error) {
	if c.NArg() > 0 {
		return a.oneLab(c)
	}
	up, err := r.UpLabs()
	if err != nil {
		return "", labs.Errorf(labs.ErrEnvironment, "%w", err)
	}
	var names []string
	for _, rec := range up {
		if !rec.Playground() {
			names = append(names, rec.Lab)
		}
	}
	switch len(names) {
	case 0:
		return "", labs.Errorf(labs.ErrNotUp, "nothing is up in instance %s to watch: start a lab with %s", r.Instance, r.Cmd("up <lab>"))
	case 1:
		return names[0], nil
	}
	return "", usageErr("several labs are up (%s): say which, as in %s", strings.Join(names, ", "), r.Cmd("watch "+names[0]))
}

// skipBlank drops writes that hold nothing but blank lines: a counter view
// with nothing counted yet prints one each tick, and the "waiting for
// packets…" line already says why there is nothing to show.
type skipBlank struct{ w io.Writer }

func (s *skipBlank) Write(p []byte) (int, error) {
	if len(bytes.TrimSpace(p)) == 0 {
		return len(p), nil
	}
	return s.w.Write(p)
}
