package topology

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xdplab/xdplab/internal/namespace"
)

// Mark is what every namespace xdplab creates for a lab carries inside (the
// alias of its lo, set before the namespace gets its name): the label that
// tells ours from a namespace someone made by hand with a name like ours.
func Mark(instance, lab string) string { return "xdplab:" + instance + ":" + lab }

// ErrForeign marks a namespace that has one of our names but that xdplab
// did not create: it is never adopted nor deleted.
var ErrForeign = errors.New("not created by xdplab")

// owns says whether an entry is xdplab's, for one lab of an instance (lab ""
// for any lab of it). A mounted namespace is ours only with our mark: Create
// marks before it mounts. An empty unmounted placeholder is ours when the
// pre-creation record (the lab's state file) names it: a Create killed before
// its mount leaves one.
func owns(e namespace.Entry, instance, lab string, recorded map[string]bool) bool {
	switch e.Kind {
	case namespace.Mounted:
		if lab == "" {
			return strings.HasPrefix(e.Mark, Mark(instance, ""))
		}
		return e.Mark == Mark(instance, lab)
	case namespace.Placeholder:
		return recorded[e.Name]
	}
	return false
}

// Owned lists the names with the prefix of an instance (or of one of its
// labs) that xdplab created: owned. foreign are the other names with that
// prefix, which xdplab leaves alone. recorded are the namespaces the state
// files said were about to be created. A name that cannot be examined (not
// root, say) is foreign: nothing is deleted on a guess.
func Owned(instance, lab string, recorded []string) (owned []namespace.Entry, foreign []string, err error) {
	prefix := Prefix(instance)
	if lab != "" {
		prefix = LabPrefix(instance, lab)
	}
	names, err := namespace.List(prefix)
	if err != nil {
		return nil, nil, err
	}
	rec := map[string]bool{}
	for _, n := range recorded {
		rec[n] = true
	}
	for _, n := range names {
		e, err := namespace.Examine(n)
		switch {
		case err == nil && e.Kind == namespace.Missing:
		case err == nil && owns(e, instance, lab, rec):
			owned = append(owned, e)
		default:
			foreign = append(foreign, n)
		}
	}
	return owned, foreign, nil
}

// Sweep deletes the namespaces of an instance (of one lab, or all of them when
// lab is "") that xdplab created, and returns their names and the names of
// the foreign ones it left alone. It needs no state file: the marks inside the
// namespaces suffice, so it cleans up after a crash; recorded adds the
// placeholders a killed Create left.
func Sweep(instance, lab string, recorded []string) (removed, foreign []string, err error) {
	owned, foreign, err := Owned(instance, lab, recorded)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, e := range owned {
		if err := namespace.Delete(e.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name)
	}
	return removed, foreign, errors.Join(errs...)
}

// CheckFree makes sure none of the topology's namespace names is taken by
// something xdplab did not create, which deploying would adopt or clobber.
// recorded are the names of the lab's state file, if it has one.
func (r *Resolved) CheckFree(recorded []string) error {
	rec := map[string]bool{}
	for _, n := range recorded {
		rec[n] = true
	}
	for _, n := range r.Namespaces() {
		e, err := namespace.Examine(n)
		if err != nil {
			return fmt.Errorf("namespace %s: %w", n, err)
		}
		if e.Kind == namespace.Missing || owns(e, r.Instance, r.Lab, rec) {
			continue
		}
		return foreignError(e)
	}
	return nil
}

func foreignError(e namespace.Entry) error {
	p := namespace.Path(e.Name)
	switch {
	case e.Link:
		return fmt.Errorf("%s is a symbolic link, %w: remove the link (`rm %s`; `ip netns del` would unmount the namespace it points to) or choose another --instance", p, ErrForeign, p)
	case e.Kind == namespace.Other:
		return fmt.Errorf("%s exists and is not a namespace, %w: remove it or choose another --instance", p, ErrForeign)
	}
	return fmt.Errorf("namespace %s exists and was %w: remove it (`ip netns del %s`) or choose another --instance", e.Name, ErrForeign, e.Name)
}
