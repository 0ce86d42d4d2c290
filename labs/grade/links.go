package grade

import (
	"errors"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/xdplab/xdplab/labs"
)

// LinkedProgram opens the program that a link the lab pinned under its
// pin directory attaches: the program that runs, for a lab whose program
// is known only by its link (a tracing program). As with OpenMap, a pin
// that is missing or unreadable is damage done to the lab since up: a
// labs.ErrEnvironment that names the pin and the commands that rebuild
// the lab.
func LinkedProgram(env *labs.Env, pin string) (*ebpf.Program, error) {
	path := env.Pin(pin)
	l, err := link.LoadPinnedLink(path, nil)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, labs.Errorf(labs.ErrEnvironment, "link pin %s is gone, so the lab's program no longer runs: %s (%w)", path, env.RebuildFix(), err)
	case err != nil:
		return nil, labs.Errorf(labs.ErrEnvironment, "open pinned link %s: %w: %s", path, err, env.RebuildFix())
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		return nil, labs.Errorf(labs.ErrEnvironment, "link %s: %w", path, err)
	}
	prog, err := ebpf.NewProgramFromID(info.Program)
	if err != nil {
		return nil, labs.Errorf(labs.ErrEnvironment, "program %d of link %s: %w: %s", info.Program, path, err, env.RebuildFix())
	}
	return prog, nil
}
