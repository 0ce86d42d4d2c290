package labs

import (
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/attached"
	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/topology"
)

// Status is what `xdplab status` shows of an instance.
type Status struct {
	Instance string      `json:"instance"`
	Labs     []LabStatus `json:"labs"`
}

// LabStatus describes one lab that is up, or that is not down: damaged or
// being changed (State, see Condition).
type LabStatus struct {
	Lab      string       `json:"lab"`
	State    string       `json:"state"`
	Mode     string       `json:"mode,omitempty"`
	Nodes    []NodeStatus `json:"nodes"`
	Maps     []MapStatus  `json:"maps"`
	Problems []Problem    `json:"problems"`
	Error    string       `json:"error,omitempty"`
	// Pins and Holder are shown for labs that are not plainly up: what is
	// pinned in the lab's pin directory, and the pid of a busy instance's
	// command.
	Pins   []string `json:"pins,omitempty"`
	Holder string   `json:"holder,omitempty"`

	// Bare: up built the topology only; Attached is what runs at the
	// lab's attach points now, the learner's own programs.
	Bare     bool            `json:"bare,omitempty"`
	Attached []AttachedPoint `json:"attached,omitempty"`

	// Origin is where the program up loaded came from: embedded, or the
	// --obj/--src file with its sha256 as it was at up.
	Origin *provenance.Origin `json:"origin,omitempty"`
	// Tracing are the lab's programs on tracing hooks of the whole
	// machine, which no interface shows.
	Tracing []TracingStatus `json:"tracing,omitempty"`

	// Playground marks a topology built from the user's file with no lab;
	// Summary counts its nodes and links.
	Playground bool   `json:"playground,omitempty"`
	Summary    string `json:"summary,omitempty"`
}

// Problem is something wrong with a lab that is up (a detached program, a
// killed capture's leftovers), with the command that fixes it.
type Problem struct {
	What string `json:"what"`
	Fix  string `json:"fix"`
}

// Diagnoser is implemented by labs that can spot damage or leftovers of
// their own in a running lab, which only they know how to recognize.
type Diagnoser interface {
	Diagnose(env *Env) []Problem
}

// Troubled reports whether a status shows an error or a problem: `status`
// then exits non-zero, so scripts notice.
func (st *Status) Troubled() bool {
	for _, l := range st.Labs {
		if l.Error != "" || len(l.Problems) > 0 {
			return true
		}
	}
	return false
}

// NodeStatus is one namespace and its interfaces.
type NodeStatus struct {
	Node       string        `json:"node"`
	Namespace  string        `json:"namespace"`
	Interfaces []IfaceStatus `json:"interfaces"`
}

// IfaceStatus is one interface with the XDP program attached to it, if any.
type IfaceStatus struct {
	Name    string   `json:"name"`
	MAC     string   `json:"mac"`
	State   string   `json:"state"`
	Addrs   []string `json:"addrs"`
	XDPProg string   `json:"xdp_prog,omitempty"`
	XDPID   uint32   `json:"xdp_id,omitempty"`
	XDPMode string   `json:"xdp_mode,omitempty"`
}

// Status collects the live state of every lab of the instance that is up,
// and what is left of labs whose state is damaged.
func (r *Runner) Status() (*Status, error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	conds, err := r.Conditions()
	if err != nil {
		return nil, err
	}
	st := &Status{Instance: r.Instance}
	for _, c := range conds {
		switch c.State {
		case CondDown:
			continue
		case CondUp:
		default:
			st.Labs = append(st.Labs, r.leftoverStatus(c))
			continue
		}
		rec := *c.Record
		if rec.Playground() {
			st.Labs = append(st.Labs, r.playgroundStatus(rec))
			continue
		}
		ls := LabStatus{Lab: rec.Lab, State: CondUp, Mode: rec.Mode, Bare: rec.Bare, Origin: rec.Origin}
		lab, env, err := r.Open(rec.Lab)
		if err != nil {
			ls.Error = err.Error()
			st.Labs = append(st.Labs, ls)
			continue
		}
		for _, n := range env.Topo.Nodes {
			node, err := nodeStatus(n.Name, env.Topo.MustNS(n.Name))
			if err != nil {
				ls.Error = err.Error()
				continue
			}
			ls.Nodes = append(ls.Nodes, node)
		}
		ls.Problems = append(ls.Problems, r.diagnose(rec, env.Topo)...)
		ls.Tracing = tracingStatus(rec)
		if a := env.Attached; a != nil {
			// A bare lab has none of the pins a lab's Diagnose inspects.
			ls.Mode, ls.Attached = string(env.Options.Mode), a.Points
			ls.Maps = a.mapStatus(mapViewOf(lab.Info(), env.Topo))
		} else {
			if d, ok := lab.(Diagnoser); ok {
				ls.Problems = append(ls.Problems, d.Diagnose(env)...)
			}
			ls.Maps = pinnedMaps(rec.PinDir, mapViewOf(lab.Info(), env.Topo))
		}
		env.Topo.Close()
		if ls.Problems == nil {
			ls.Problems = []Problem{}
		}
		st.Labs = append(st.Labs, ls)
	}
	return st, nil
}

// leftoverStatus shows what is really there of a lab whose state is damaged
// (or that another command is changing): its namespaces, found by prefix and
// mark, with their interfaces and programs, and its pins.
func (r *Runner) leftoverStatus(c Condition) LabStatus {
	ls := LabStatus{Lab: c.Lab, State: c.State, Problems: []Problem{}, Pins: c.Pins, Holder: c.Holder}
	if c.Record != nil {
		ls.Mode = c.Record.Mode
	}
	if c.Problem != nil {
		ls.Problems = append(ls.Problems, *c.Problem)
	}
	if c.Record != nil && c.Record.Playground() {
		ls.Playground = true
	}
	var view mapView
	if lab, err := r.Registry.Get(c.Lab); err == nil {
		view.keys = lab.Info().Keys
	}
	res, _ := r.Resolved(c.Lab)
	for _, name := range c.Namespaces {
		node := strings.TrimPrefix(name, topology.LabPrefix(r.Instance, c.Lab))
		if res != nil {
			for _, n := range res.Nodes {
				if n.Namespace == name {
					node = n.Name
				}
			}
		}
		ns, err := namespace.Open(name)
		if err != nil {
			ls.Error = err.Error()
			continue
		}
		ni, err := nodeStatus(node, ns)
		ns.Close()
		if err != nil {
			ls.Error = err.Error()
			continue
		}
		ls.Nodes = append(ls.Nodes, ni)
	}
	ls.Maps = pinnedMaps(r.PinDir(c.Lab), view)
	return ls
}

// nodeStatus lists a namespace's interfaces, their addresses and the XDP
// programs attached to them.
func nodeStatus(node string, ns *namespace.NS) (NodeStatus, error) {
	ni := NodeStatus{Node: node, Namespace: ns.Name}
	links, err := ns.Netlink().LinkList()
	if err != nil {
		return ni, err
	}
	for _, l := range links {
		a := l.Attrs()
		if a.Name == "lo" {
			continue
		}
		is := IfaceStatus{Name: a.Name, MAC: a.HardwareAddr.String(), State: a.OperState.String()}
		addrs, _ := ns.Netlink().AddrList(l, netlink.FAMILY_ALL)
		for _, ad := range addrs {
			is.Addrs = append(is.Addrs, ad.IPNet.String())
		}
		if x := a.Xdp; x != nil && x.ProgId != 0 {
			is.XDPID = x.ProgId
			is.XDPMode = attached.XDPMode(x.AttachMode)
			if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(x.ProgId)); err == nil {
				if info, err := p.Info(); err == nil {
					is.XDPProg = info.Name
				}
				p.Close()
			}
		}
		ni.Interfaces = append(ni.Interfaces, is)
	}
	return ni, nil
}

// WriteStatus prints a status for people.
func WriteStatus(w io.Writer, st *Status) {
	if len(st.Labs) == 0 {
		fmt.Fprintf(w, "instance %s: nothing is up (start a lab with %s)\n", st.Instance, Cmd(st.Instance, "up <lab>"))
		return
	}
	for _, l := range st.Labs {
		switch {
		case l.State == CondBusy:
			fmt.Fprintf(w, "%s (instance %s): another xdplab command (pid %s) is changing it; run status again when it is done\n", l.Lab, st.Instance, l.Holder)
		case l.State != CondUp && l.State != "":
			fmt.Fprintf(w, "%s (instance %s, %s)\n", l.Lab, st.Instance, l.State)
		case l.Playground:
			fmt.Fprintf(w, "%s (instance %s, playground: %s)\n", l.Lab, st.Instance, l.Summary)
		case l.Bare:
			fmt.Fprintf(w, "%s (instance %s, bare%s)\n", l.Lab, st.Instance, ModeNote(Mode(l.Mode)))
		default:
			fmt.Fprintf(w, "%s (instance %s%s)\n", l.Lab, st.Instance, ModeNote(Mode(l.Mode)))
		}
		writeAttached(w, l.Attached)
		if l.Origin != nil {
			fmt.Fprintf(w, "  program: %s\n", originLine(*l.Origin))
		}
		writeTracing(w, l.Tracing)
		if l.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", l.Error)
		}
		for _, p := range l.Problems {
			fmt.Fprintf(w, "  problem: %s\n", p.What)
			if p.Fix != "" {
				fmt.Fprintf(w, "    fix: %s\n", p.Fix)
			}
		}
		for _, n := range l.Nodes {
			fmt.Fprintf(w, "  %s (netns %s)\n", n.Node, n.Namespace)
			for _, i := range n.Interfaces {
				xdp := ""
				if i.XDPID != 0 {
					xdp = fmt.Sprintf("  xdp %s id %d (%s)", i.XDPProg, i.XDPID, i.XDPMode)
				}
				fmt.Fprintf(w, "    %-6s %-5s %s %s%s\n", i.Name, i.State, i.MAC, strings.Join(i.Addrs, ","), xdp)
			}
		}
		if len(l.Pins) > 0 {
			fmt.Fprintf(w, "  pins: %s\n", strings.Join(l.Pins, ", "))
		}
		for _, m := range l.Maps {
			fmt.Fprintf(w, "  map %s (%s)\n", m.Name, m.Type)
			for _, e := range m.Entries {
				fmt.Fprintf(w, "    %s: %s\n", e[0], e[1])
			}
			if m.More > 0 {
				fmt.Fprintf(w, "    ... %d more\n", m.More)
			}
		}
	}
}

// originLine says where a program came from with whole sha256 sums, to
// compare with `sha256sum FILE` (reports' short form cuts them).
func originLine(o provenance.Origin) string {
	switch o.Kind {
	case provenance.KindEmbedded:
		return "embedded in xdplab (sha256 " + o.SHA256 + ")"
	case provenance.KindObj:
		return fmt.Sprintf("--obj %s (sha256 %s at up)", o.Obj, o.SHA256)
	case provenance.KindSrc:
		return fmt.Sprintf("--src %s (sha256 %s at up), built into %s (sha256 %s)", o.Src, o.SrcSHA256, o.Obj, o.SHA256)
	}
	return o.String()
}
