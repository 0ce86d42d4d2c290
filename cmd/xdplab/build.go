package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/build"
)

func buildCmd() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "compile a BPF program in C with clang, with the flags and headers the labs use",
		ArgsUsage: "[FILE.c]",
		Description: "Without FILE.c, builds the only .c file of the current directory. The flags\n" +
			"are `" + build.CommandLine("FILE.c", "FILE.o") + "`, with\n" +
			"the include/ directory next to FILE.c (a workspace from `xdplab init`) and\n" +
			"xdplab's own headers (xdplab/parse.h, bpf/bpf_helpers.h, ...) on the include path.\n" +
			"Load the object with `sudo xdplab up <lab> --obj FILE.o`, or build and load in\n" +
			"one step with `sudo xdplab up <lab> --src FILE.c`.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the object to `FILE.o` (default: the source's name with .o)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErr("build one file at a time (got %s)", strings.Join(c.Args().Slice(), " "))
			}
			src := c.Args().First()
			if src == "" {
				var err error
				if src, err = onlyCFile(); err != nil {
					return err
				}
			}
			obj, err := build.Compile(c.Context, src, build.Options{Out: c.String("output"), Stderr: os.Stderr})
			if err != nil {
				return err
			}
			fmt.Printf("built %s\n", obj)
			return nil
		},
	}
}

// onlyCFile is the one .c file of the current directory: what a workspace
// from `xdplab init` holds.
func onlyCFile() (string, error) {
	entries, err := os.ReadDir(".")
	if err != nil {
		return "", fmt.Errorf("list the current directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".c" && !e.IsDir() {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	wd, _ := os.Getwd()
	switch len(files) {
	case 0:
		return "", usageErr("no .c file in %s: name the file to build, as in `xdplab build prog.c`", wd)
	case 1:
		return files[0], nil
	}
	return "", usageErr("%d .c files in %s (%s): name the one to build, as in `xdplab build %s`", len(files), wd, strings.Join(files, ", "), files[0])
}
