package labs

import (
	"path/filepath"
	"strings"

	"github.com/xdplab/xdplab/internal/capture"
	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/topology"
)

// Node opens the namespace of a node of a lab that is up, for exec and
// traffic. node is "NODE" or "LAB/NODE"; lab may be "" when only one lab is
// up. The caller closes the namespace.
func (r *Runner) Node(lab, node string) (*namespace.NS, error) {
	if l, n, ok := strings.Cut(node, "/"); ok {
		lab, node = l, n
	}
	if lab == "" {
		up, err := r.UpLabs()
		if err != nil {
			return nil, err
		}
		switch len(up) {
		case 0:
			return nil, Errorf(ErrNotUp, "nothing is up in instance %s: start a lab with %s", r.Instance, r.Cmd("up <lab>"))
		case 1:
			lab = up[0].Lab
		default:
			var names []string
			for _, u := range up {
				names = append(names, u.Lab)
			}
			return nil, Errorf(ErrUsage, "several labs are up (%s): say which, as LAB/%s", strings.Join(names, ", "), node)
		}
	}
	res, err := r.Resolved(lab)
	if err != nil {
		return nil, err
	}
	if _, ok := res.Node(node); !ok {
		kind := "lab"
		if _, err := r.Registry.Get(lab); err != nil {
			kind = "playground"
		}
		return nil, Errorf(ErrUsage, "unknown node %q in %s %s: nodes are %s", node, kind, lab, strings.Join(res.NodeNames(), ", "))
	}
	ns, err := namespace.Open(topology.NamespaceName(r.Instance, lab, node))
	if err != nil {
		return nil, Errorf(ErrNotUp, "%s is not up in instance %s: start it with %s", lab, r.Instance, r.Cmd("up "+lab))
	}
	return ns, nil
}

// CapturePoints are where `xdplab capture <lab>` captures: the pinned
// xdpcap hook of a lab that is up, and its link and program for --entry.
func (r *Runner) CapturePoints(lab string) (hook string, entry capture.EntryPoint, err error) {
	l, err := r.Registry.Get(lab)
	if err != nil {
		return "", entry, err
	}
	cp, ok := l.(Capturer)
	if !ok {
		return "", entry, Errorf(ErrUsage, "lab %s has no xdpcap hook: its program returns its action directly, so there is nothing to capture from; try %s", lab, r.Cmd("capture xdpcap"))
	}
	if err := Preflight(); err != nil {
		return "", entry, err
	}
	_, env, err := r.Open(lab)
	if err != nil {
		return "", entry, err
	}
	env.Topo.Close() // only the pins are needed
	hook, entry = cp.CapturePoints(env.PinDir)
	if env.Attached != nil {
		return "", entry, bareHook(env.Attached, lab, filepath.Base(hook))
	}
	return hook, entry, nil
}
