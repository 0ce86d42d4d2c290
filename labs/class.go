package labs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
)

// Class is every instance on the machine with the labs it has up: the
// instructor's view of a class (`xdplab status --all-instances`).
type Class struct {
	Instances []InstanceView `json:"instances"`
}

// InstanceView is one instance of the class view.
type InstanceView struct {
	Instance string `json:"instance"`
	// Busy is the pid of a command that was changing the instance when it
	// was read: its records may be about to change.
	Busy string `json:"busy,omitempty"`
	// Error says why the instance's state could not be read.
	Error string     `json:"error,omitempty"`
	Labs  []ClassLab `json:"labs"`
}

// ClassLab is one lab (or playground) of an instance in the class view.
type ClassLab struct {
	Lab string `json:"lab"`
	// State is CondUp, CondDamaged (its namespaces are gone, or its up
	// never finished) or CondBusy (an up in progress).
	State      string `json:"state"`
	Playground bool   `json:"playground,omitempty"`
	// Step is the exercise the lab is up with; "" is the base exercise.
	Step string `json:"step"`
	Mode string `json:"mode,omitempty"`
	// Owner ran up; Origin is where the lab's program came from.
	Owner  *provenance.User   `json:"owner,omitempty"`
	Origin *provenance.Origin `json:"origin,omitempty"`
	Since  time.Time          `json:"since"`
	// LastCheck is the latest check's result, nil when none ran since up.
	LastCheck *state.Check `json:"last_check,omitempty"`
}

// Class reads every instance's records under the runner's state directory.
// Each instance is held with a shared, non-waiting Peek only while its few
// small files are read, so the view never holds up a learner's command;
// the namespaces are looked at after.
func (r *Runner) Class() (*Class, error) {
	dir := r.store().Dir
	names, err := state.Instances(dir)
	if err != nil {
		return nil, Errorf(ErrEnvironment, "%w", err)
	}
	class := &Class{}
	for _, inst := range names {
		view, recs := r.readInstance(state.Store{Dir: dir, Instance: inst})
		for _, rec := range recs {
			view.Labs = append(view.Labs, classLab(rec, view.Busy))
		}
		slices.SortStableFunc(view.Labs, func(a, b ClassLab) int { return r.courseOrder(a) - r.courseOrder(b) })
		if view.Error != "" || len(view.Labs) > 0 {
			class.Instances = append(class.Instances, view)
		}
	}
	return class, nil
}

// readInstance reads the records of one instance under a shared hold.
func (r *Runner) readInstance(st state.Store) (InstanceView, []state.Lab) {
	view := InstanceView{Instance: st.Instance}
	hold, busy, err := st.Peek()
	if err != nil {
		view.Error = err.Error()
		return view, nil
	}
	defer hold.Unlock()
	view.Busy = busy
	labs, err := st.Labs()
	if err != nil {
		view.Error = err.Error()
		return view, nil
	}
	var recs []state.Lab
	var bad []string
	for _, l := range labs {
		rec, err := st.Read(l)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue // removed by a down since the listing
		case err != nil:
			bad = append(bad, err.Error())
			continue
		}
		recs = append(recs, rec)
	}
	if len(bad) > 0 {
		view.Error = strings.Join(bad, "; ")
	}
	return view, recs
}

// classLab judges one record: up when its namespaces are all there.
func classLab(rec state.Lab, busy string) ClassLab {
	cl := ClassLab{
		Lab: rec.Lab, Playground: rec.Playground(), Mode: rec.Mode, Step: rec.Step,
		Owner: rec.Owner, Origin: rec.Origin, Since: rec.Created, LastCheck: rec.LastCheck,
	}
	switch {
	case rec.Phase != state.PhaseUp && busy != "":
		cl.State = CondBusy
	case rec.Phase == state.PhaseUp && allMounted(rec.Namespaces):
		cl.State = CondUp
	default:
		cl.State = CondDamaged
	}
	return cl
}

// courseOrder sorts labs in course order, playgrounds after them.
func (r *Runner) courseOrder(l ClassLab) int {
	if n := r.Registry.Number(l.Lab); n > 0 && !l.Playground {
		return n
	}
	return len(r.Registry.Names()) + 1
}

// WriteClass prints the class view for people: one aligned line per lab,
// instances in name order, then a count to read at a glance. now is the
// time the ages of the last checks are counted from.
func WriteClass(w io.Writer, c *Class, now time.Time) {
	if len(c.Instances) == 0 {
		fmt.Fprintln(w, "no instance has anything up on this machine")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tLAB\tSTEP\tMODE\tOWNER\tSTATE\tLAST CHECK\tPROGRAM")
	labs, up := 0, 0
	verdicts := map[string]int{}
	for _, inst := range c.Instances {
		if inst.Error != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tunreadable\t-\t%s\n", inst.Instance, inst.Error)
		}
		for _, l := range inst.Labs {
			labs++
			if l.State == CondUp {
				up++
			}
			st := l.State
			if st == CondBusy && inst.Busy != "" {
				st += " (pid " + inst.Busy + ")"
			}
			step, mode, owner, program := stepLabel(l.Step), l.Mode, "-", "-"
			if mode == "" {
				mode = "-"
			}
			if l.Owner != nil {
				owner = l.Owner.Name
			}
			switch {
			case l.Playground:
				step, program = "-", "playground"
			case l.Origin != nil:
				program = l.Origin.String()
			}
			last := "never"
			if c := l.LastCheck; c != nil {
				verdicts[c.Verdict]++
				last = fmt.Sprintf("%s %d/%d %s", strings.ToUpper(c.Verdict), c.Passed, c.Total, age(now, c.At))
			} else if !l.Playground {
				verdicts[""]++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inst.Instance, l.Lab, step, mode, owner, st, last, program)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d instances, %d labs (%d up); last checks: %d pass, %d fail, %d error, %d never checked\n",
		len(c.Instances), labs, up, verdicts[string(VerdictPass)], verdicts[string(VerdictFail)], verdicts[string(VerdictError)], verdicts[""])
}

// age says how long ago t was, in the largest unit that fits.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return "on " + t.Local().Format(time.DateOnly)
}
