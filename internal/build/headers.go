// Package build provides the headers a learner's workspace compiles against.
package build

// STAND-IN for engineer "build"'s package (branch ex-steps): only Headers,
// with the interface of issue 11's design, so that `xdplab init` is written
// against it. It serves the libbpf headers of this machine's libbpf-dev
// instead of the vendored copies, and none of xdplab's own (packet_counter,
// the pilot, needs none). Drop this file at merge in favour of the real
// package.

import (
	"io/fs"
	"os"
	"path"
	"testing/fstest"
)

// libbpfHeaders are the libbpf headers a lab's program may include, as
// bpf/<name> under a workspace's include/.
var libbpfHeaders = []string{"bpf_helpers.h", "bpf_helper_defs.h", "bpf_endian.h", "bpf_tracing.h"}

// systemBPF is where libbpf-dev installs them.
const systemBPF = "/usr/include/bpf"

// Headers is every header a workspace needs, laid out as under its
// include/ directory. A header missing from the machine fails when it is
// read, naming the package that provides it.
func Headers() fs.FS {
	m := fstest.MapFS{}
	for _, h := range libbpfHeaders {
		data, err := os.ReadFile(path.Join(systemBPF, h))
		if err != nil {
			return missing{err}
		}
		m["bpf/"+h] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	return m
}

// missing is a header tree that could not be read: every Open says why.
type missing struct{ err error }

func (m missing) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: &installError{m.err}}
}

type installError struct{ err error }

func (e *installError) Error() string {
	return e.err.Error() + " (the libbpf headers: `sudo apt-get install libbpf-dev`)"
}
func (e *installError) Unwrap() error { return e.err }
