package topology

import (
	"embed"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// The topologies that ship with xdplab: the labs' (pair, redirect) and the
// scale benchmarks' shapes (line, star).
//
//go:embed shapes/*.yaml
var shapeFiles embed.FS

// parsed holds the embedded files decoded so far. They are decoded on first
// use, not at start: every command starts the binary, few of them need a
// topology.
var parsed struct {
	sync.Mutex
	specs map[string]Spec
}

// Embedded returns an embedded topology by name (topology/shapes/<name>.yaml).
func Embedded(name string) (Spec, error) {
	parsed.Lock()
	defer parsed.Unlock()
	if s, ok := parsed.specs[name]; ok {
		return s.clone(), nil
	}
	s, err := parseEmbedded(name, 0)
	if err != nil {
		return Spec{}, err
	}
	if parsed.specs == nil {
		parsed.specs = map[string]Spec{}
	}
	parsed.specs[name] = s
	return s.clone(), nil
}

// Scaled returns an embedded shape (line, star) with size nodes.
func Scaled(name string, size int) (Spec, error) {
	if size < 1 {
		return Spec{}, fmt.Errorf("topology %s of size %d: want at least 1", name, size)
	}
	return parseEmbedded(name, size)
}

func parseEmbedded(name string, size int) (Spec, error) {
	data, err := shapeFiles.ReadFile("shapes/" + name + ".yaml")
	if err != nil || !validName(name) {
		return Spec{}, fmt.Errorf("no embedded topology %q (have: %s)", name, strings.Join(EmbeddedNames(), ", "))
	}
	return parse("topology/shapes/"+name+".yaml", data, size)
}

// EmbeddedNames lists the embedded topologies, sorted.
func EmbeddedNames() []string {
	entries, _ := shapeFiles.ReadDir("shapes")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	return names
}

// MustEmbedded is Embedded for the files the labs are built on; a test
// decodes every embedded file, so this cannot fail in a released binary.
func MustEmbedded(name string) Spec {
	s, err := Embedded(name)
	if err != nil {
		panic(err)
	}
	return s
}

// Pair is the two-node topology most labs use (topology/shapes/pair.yaml).
func Pair() Spec { return MustEmbedded("pair") }

// Redirect is the three-node topology of the redirect lab, in which node1
// routes between the host and node2 (topology/shapes/redirect.yaml).
func Redirect() Spec { return MustEmbedded("redirect") }

// clone copies a spec deeply, so a caller may change what it got.
func (s Spec) clone() Spec {
	c := s
	c.Nodes = slices.Clone(s.Nodes)
	for i, n := range c.Nodes {
		c.Nodes[i].Sysctls = maps.Clone(n.Sysctls)
		c.Nodes[i].Routes = slices.Clone(n.Routes)
	}
	c.Links = slices.Clone(s.Links)
	c.Roles = maps.Clone(s.Roles)
	return c
}
