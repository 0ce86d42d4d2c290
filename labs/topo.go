package labs

import (
	"errors"
	"os"
	"strings"

	"github.com/xdplab/xdplab/topology"
)

// Drawings resolves what `xdplab topo` draws, in the runner's instance:
// each argument is a lab, a playground that is up, or a topology file; no
// argument means every lab, in course order.
func (r *Runner) Drawings(args []string) ([]topology.Drawing, error) {
	if len(args) == 0 {
		args = r.Registry.Names()
	}
	var drawings []topology.Drawing
	for _, arg := range args {
		res, err := r.Resolved(arg)
		_, serr := os.Stat(arg)
		if errors.Is(err, ErrUnknownLab) && (strings.ContainsAny(arg, "/.") || serr == nil) {
			res, err = r.resolveFile(arg)
		} else if errors.Is(err, ErrUnknownLab) {
			err = Errorf(ErrUnknownLab, "%w; or give the path of a topology file (YAML)", err)
		}
		if err != nil {
			return nil, err
		}
		d := topology.Drawing{Resolved: res}
		if lab, err := r.Registry.Get(arg); err == nil {
			d.Notes = lab.Info().Annotations()
		}
		drawings = append(drawings, d)
	}
	return drawings, nil
}

func (r *Runner) resolveFile(path string) (*topology.Resolved, error) {
	spec, err := topology.Load(path)
	if err != nil {
		return nil, err
	}
	return topology.Resolve(spec, r.Instance, spec.Name)
}
