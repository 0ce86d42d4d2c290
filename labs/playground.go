package labs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/topology"
)

// A playground is a topology from the user's file built with no lab: no
// program, nothing to check. It lives under its topology's name as a lab
// lives under its own (namespaces <instance>-<name>-<node>, the mark
// xdplab:<instance>:<name>, the state file <name>.json), and its record
// holds the whole spec, so that status, list, exec, traffic and down treat
// it like a lab without the file.

// UpPlayground builds a playground from a spec (topology.Load reads one).
// Its name may not be a lab's, nor that of a playground already up.
func (r *Runner) UpPlayground(ctx context.Context, spec topology.Spec) error {
	if err := topology.ValidateInstance(r.Instance); err != nil {
		return Errorf(ErrUsage, "%w", err)
	}
	name := spec.Name
	if _, err := r.Registry.Get(name); err == nil {
		return Errorf(ErrUsage, "topology name %q is the name of a lab: a playground with it would be taken for the lab; rename the topology (its name: field), e.g. %s_play", name, name)
	}
	if err := topology.ValidateLabName(name); err != nil {
		return Errorf(ErrUsage, "topology name %q: want lowercase letters, digits or '_', at most 20, a letter first: change its name: field", name)
	}
	res, err := topology.Resolve(spec, r.Instance, name)
	if err != nil {
		return Errorf(ErrUsage, "%w", err)
	}
	if os.Geteuid() != 0 {
		return Errorf(ErrNotRoot, "xdplab needs root to create namespaces: run it with sudo")
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	alreadyUp := func(prev state.Lab) error {
		return Errorf(ErrAlreadyUp, "a playground named %s is already up in instance %s (since %s): see it with %s, or remove it with %s before building it again",
			name, r.Instance, prev.Created.Format(time.TimeOnly), r.Cmd("status"), r.Cmd("down "+name))
	}
	return r.locked(ctx, func() error {
		return r.build(ctx, res, state.Lab{Topology: data}, alreadyUp, nil)
	})
}

// playground reads the record of a playground; ok is false when name is
// not one. A name that could not be a playground's is not looked up: it
// could lead the state file's path out of the instance's directory.
func (r *Runner) playground(name string) (rec state.Lab, ok bool) {
	if topology.ValidateLabName(name) != nil {
		return state.Lab{}, false
	}
	rec, err := r.store().Read(name)
	return rec, err == nil && rec.Playground()
}

// lab returns a registered lab; for a playground, the error says that it
// has nothing to check.
func (r *Runner) lab(name string) (Lab, error) {
	l, err := r.Registry.Get(name)
	if err == nil {
		return l, nil
	}
	if _, ok := r.playground(name); ok {
		return nil, Errorf(ErrUsage, "%s is a playground (a topology with no lab): it has nothing to check or watch; %s shows it, %s runs a command in one of its nodes",
			name, r.Cmd("status"), "`xdplab exec"+InstanceFlag(r.Instance)+" "+name+"/<node> -- CMD`")
	}
	return l, err
}

// playgroundTopology resolves the spec a playground's record holds.
func (r *Runner) playgroundTopology(rec state.Lab) (*topology.Resolved, error) {
	var spec topology.Spec
	if err := json.Unmarshal(rec.Topology, &spec); err != nil {
		return nil, Errorf(ErrEnvironment, "%w: the topology in %s: %w (%s cleans up)", state.ErrCorrupt, r.store().Path(rec.Lab), err, r.Cmd("down "+rec.Lab))
	}
	res, err := topology.Resolve(spec, r.Instance, rec.Lab)
	if err != nil {
		return nil, Errorf(ErrEnvironment, "the topology in %s: %w (%s cleans up)", r.store().Path(rec.Lab), err, r.Cmd("down "+rec.Lab))
	}
	return res, nil
}

// Resolved returns the topology of a lab, or of a playground that is
// recorded, bound to the runner's instance: the nodes that exec and traffic
// run in.
func (r *Runner) Resolved(name string) (*topology.Resolved, error) {
	lab, err := r.Registry.Get(name)
	if err == nil {
		return topology.Resolve(lab.Info().Spec(), r.Instance, name)
	}
	if rec, ok := r.playground(name); ok {
		return r.playgroundTopology(rec)
	}
	return nil, err
}

// playgroundStatus shows a playground that is up: its nodes and interfaces.
func (r *Runner) playgroundStatus(rec state.Lab) LabStatus {
	ls := LabStatus{Lab: rec.Lab, State: CondUp, Playground: true, Problems: []Problem{}}
	res, err := r.playgroundTopology(rec)
	if err != nil {
		ls.Error = err.Error()
		return ls
	}
	ls.Summary = res.Spec.Summary()
	dep, err := res.Open()
	if err != nil {
		ls.Error = fmt.Sprintf("recorded as up but its namespaces are gone (%v): %s cleans up", err, r.Cmd("down "+rec.Lab))
		return ls
	}
	defer dep.Close()
	for _, n := range dep.Nodes {
		node, err := nodeStatus(n.Name, dep.MustNS(n.Name))
		if err != nil {
			ls.Error = err.Error()
			continue
		}
		ls.Nodes = append(ls.Nodes, node)
	}
	return ls
}

// WritePlaygroundUp prints what `up --topology` ends with: the topology
// and what to try in it.
func (r *Runner) WritePlaygroundUp(w io.Writer, name string) error {
	rec, err := r.store().Read(name)
	if err != nil {
		return Errorf(ErrEnvironment, "%w", err)
	}
	if !rec.Playground() {
		return errors.New("not a playground: " + name)
	}
	res, err := r.playgroundTopology(rec)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "playground %s is up (instance %s)\n\n", name, r.Instance)
	res.WriteText(w, nil)
	fmt.Fprintln(w, "\nnext:")
	flag := InstanceFlag(r.Instance)
	from, to := pingTarget(res)
	if from != "" {
		fmt.Fprintf(w, "  sudo xdplab exec%s %s/%s -- ping -c 3 %s\n", flag, name, from, to)
		fmt.Fprintf(w, "  sudo xdplab traffic ping%s --from %s/%s --to %s\n", flag, name, from, to)
	}
	fmt.Fprintf(w, "  sudo xdplab status%s\n", flag)
	fmt.Fprintf(w, "  sudo xdplab down %s%s\n", name, flag)
	return nil
}

// pingTarget suggests a ping that needs no route: from the first node to
// the other end of its first link.
func pingTarget(res *topology.Resolved) (from, to string) {
	for _, l := range res.Links {
		for _, ends := range [][2]topology.ResolvedEndpoint{{l.A, l.B}, {l.B, l.A}} {
			if ends[0].Node == res.Nodes[0].Name && ends[1].Addr.IsValid() {
				return ends[0].Node, ends[1].Addr.Addr().String()
			}
		}
	}
	return "", ""
}
