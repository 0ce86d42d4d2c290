package grade

import (
	"errors"
	"os"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/labs"
)

// OpenProgram opens a program the lab pinned under its pin directory as
// pin, such as a socket filter a check attaches to a socket of its own.
// As with OpenMap, a pin that is missing or unreadable is damage done to
// the lab since up: a labs.ErrEnvironment that names the pin and the
// commands that rebuild the lab, wrapping the cause.
func OpenProgram(env *labs.Env, pin string) (*ebpf.Program, error) {
	if env.Options.Bare {
		return nil, labs.Errorf(labs.ErrEnvironment, "program pin %s: a bare lab pins nothing; the lab must use the learner's attached program in a bare lab (this is a bug in the lab's check, please report it)", pin)
	}
	path := env.Pin(pin)
	p, err := ebpf.LoadPinnedProgram(path, nil)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, labs.Errorf(labs.ErrEnvironment, "program pin %s is gone: %s (%w)", path, env.RebuildFix(), err)
	case err != nil:
		return nil, labs.Errorf(labs.ErrEnvironment, "open pinned program %s: %w: %s", path, err, env.RebuildFix())
	}
	return p, nil
}

// ReadPinned snapshots the counters of a map the lab pinned: OpenMap, then
// ReadCounters. A watch view calls it at every tick, so that a watch left
// running after down stops with the reason instead of showing a map that
// nothing updates any more.
func ReadPinned[K comparable](env *labs.Env, name string) (Counters[K], error) {
	m, err := OpenMap(env, name, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return ReadCounters[K](m)
}
