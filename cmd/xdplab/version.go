package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func versionCmd() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version and the commit xdplab was built from (as --version does)",
		Action: func(c *cli.Context) error {
			writeVersion(c.App.Writer)
			return nil
		},
	}
}

// writeVersion is what `version` and `--version` print: the version as
// reports carry it, then the commit, which a bug report needs even when the
// version is a bare "devel".
func writeVersion(w io.Writer) {
	fmt.Fprintln(w, "xdplab "+versionString())
	if rev := commit(); rev != "" {
		fmt.Fprintln(w, "commit "+rev)
	} else {
		fmt.Fprintln(w, "commit unknown (built without VCS stamping: outside a git clone, or with -buildvcs=false)")
	}
}

func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return versionOf(version, "", "", nil)
	}
	return versionOf(version, bi.Main.Version, bi.GoVersion, bi.Settings)
}

// versionOf is the version as `xdplab version` and reports show it: the
// one -X main.version set (ldflags), else the module version Go stamped,
// else "devel" with the commit, followed by the Go version.
func versionOf(ldflags, module, goVersion string, settings []debug.BuildSetting) string {
	v := ldflags
	if v == "" {
		v = module
		if rev := commitOf(settings); rev != "" && (v == "" || v == "(devel)") {
			v = "devel-" + shortRev(rev)
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	if goVersion == "" {
		return v
	}
	return v + " " + goVersion
}

// shortRev is a commit as git abbreviates it (12 hex digits), with the
// "-dirty" of an uncommitted tree kept.
func shortRev(rev string) string {
	hash, dirty := rev, ""
	if len(rev) > 6 && rev[len(rev)-6:] == "-dirty" {
		hash, dirty = rev[:len(rev)-6], "-dirty"
	}
	return hash[:min(12, len(hash))] + dirty
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
	return commitOf(bi.Settings)
}

func commitOf(settings []debug.BuildSetting) string {
	var rev, modified string
	for _, s := range settings {
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
