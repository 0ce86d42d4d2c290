package labs

import (
	"fmt"
	"strings"

	"github.com/xdplab/xdplab/topology"
)

// Registry holds the labs in course order. It is filled explicitly (see
// labs/course), never by init side effects.
type Registry struct {
	labs  []Lab
	index map[string]Lab
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{index: map[string]Lab{}} }

// Register adds a lab at the end of the course. It does not decode the
// lab's topology: every command builds the registry when it starts, and
// few need a topology (TestLabTopologies checks them all).
func (r *Registry) Register(l Lab) error {
	name := l.Name()
	if err := topology.ValidateLabName(name); err != nil {
		return err
	}
	if _, dup := r.index[name]; dup {
		return fmt.Errorf("lab %q registered twice", name)
	}
	r.labs = append(r.labs, l)
	r.index[name] = l
	return nil
}

// Get returns a lab by name; an unknown name lists the valid ones.
func (r *Registry) Get(name string) (Lab, error) {
	if l, ok := r.index[name]; ok {
		return l, nil
	}
	return nil, Errorf(ErrUnknownLab, "unknown lab %q: valid labs are %s", name, strings.Join(r.Names(), ", "))
}

// All returns the labs in course order.
func (r *Registry) All() []Lab { return append([]Lab(nil), r.labs...) }

// Names returns the lab names in course order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.labs))
	for i, l := range r.labs {
		names[i] = l.Name()
	}
	return names
}
