package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/labs"
)

// reportFlags are the report options of check and run.
func reportFlags() []cli.Flag {
	return []cli.Flag{jsonFlag, &cli.StringFlag{Name: "junit", Usage: "also write a JUnit XML report to `FILE`"}}
}

// reportPathWritable refuses a --junit path that cannot be written, before
// anything is built: finding out after a whole run would waste it.
func reportPathWritable(c *cli.Context) error {
	path := c.String("junit")
	if path == "" {
		return nil
	}
	refuse := func(why error) error {
		return usageErr("--junit %s: %v; nothing was started: give a file in a directory that exists and that you can write", path, why)
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return usageErr("--junit %s is a directory; nothing was started: name a file, e.g. %s", path, filepath.Join(path, "xdplab.xml"))
		}
		if err := unix.Access(path, unix.W_OK); err != nil {
			return refuse(fmt.Errorf("cannot write it: %w", err))
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return refuse(err)
	}
	dir := filepath.Dir(path)
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return refuse(fmt.Errorf("cannot create a file in %s: %w", dir, err))
	}
	return nil
}

// writeReports prints the reports on stdout first, so the results are there
// whatever happens to the JUnit file, then writes that file.
func writeReports(c *cli.Context, reports []*labs.Report, summary bool) error {
	if c.Bool("json") {
		if err := labs.WriteJSON(os.Stdout, reports); err != nil {
			return err
		}
		// The JSON holds the cause too, but stderr is what a person sees.
		for _, r := range reports {
			if r.Verdict == labs.VerdictError {
				fmt.Fprintf(os.Stderr, "xdplab: could not check %s: %s\n", r.Lab, r.Error)
			}
		}
	} else {
		labs.WriteText(os.Stdout, reports)
		if summary {
			labs.WriteSummary(os.Stdout, reports)
		}
	}
	if f := c.String("junit"); f != "" {
		if err := writeJUnit(f, reports); err != nil {
			return labs.Errorf(labs.ErrEnvironment, "write the JUnit report %s: %w: the results above are complete; write it elsewhere with --junit FILE next time", f, err)
		}
	}
	switch labs.Outcome(reports) {
	case labs.VerdictError:
		return errCouldNotCheck
	case labs.VerdictFail:
		return errChecksFailed
	}
	return nil
}

func writeJUnit(path string, reports []*labs.Report) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	err = labs.WriteJUnit(out, reports)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
