package main

import (
	"fmt"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func versionCmd() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Println("xdplab " + versionString())
			return nil
		},
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if rev := commit(); rev != "" && (v == "" || v == "(devel)") {
		v = "devel-" + rev[:min(12, len(rev))]
		if len(rev) > 12 && rev[len(rev)-6:] == "-dirty" {
			v += "-dirty"
		}
	}
	if v == "" {
		v = "devel"
	}
	return v + " " + bi.GoVersion
}

// commit is the revision xdplab was built from, as Go stamped it, with
// "-dirty" for uncommitted changes; "" when Go did not stamp one (a build
// outside a repository, or with -buildvcs=false). Reports carry it whole,
// whatever -X main.version said.
func commit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	return rev
}
