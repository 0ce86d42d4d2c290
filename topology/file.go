package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"

	"github.com/xdplab/xdplab/internal/filekind"
)

// Topology files are YAML rather than JSON: they are written by hand, so
// they need comments (why a node forwards, why neighbours are static), and
// the YAML parser gives every value its line, which errors name.

// fileSpec is what a topology file holds: a spec, and optionally a size and
// repeat blocks that generate nodes and links (see expand).
type fileSpec struct {
	Spec   `yaml:",inline"`
	Size   *int     `yaml:"size"`
	Repeat []repeat `yaml:"repeat"`
}

// repeat generates its nodes and links once for every i from From to To
// (both included); {i}, {size} and arithmetic on them ({i+1}, {i/256}) in
// their strings are replaced by their values.
type repeat struct {
	From  string `yaml:"from"`
	To    string `yaml:"to"`
	Nodes []Node `yaml:"nodes"`
	Links []Link `yaml:"links"`
}

// maxFileSize bounds what Load reads: a topology is a page of text.
const maxFileSize = 1 << 20

// Load reads and validates a topology file. Errors name the path as given,
// and for a problem in the file, its line and field.
func Load(path string) (Spec, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
			return Spec{}, notRegular(path, fi) // a socket cannot be opened at all
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return Spec{}, fmt.Errorf("topology file %s: %w: give the path of a YAML topology file", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Spec{}, fmt.Errorf("topology file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Spec{}, notRegular(path, fi)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Spec{}, fmt.Errorf("read topology file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return Spec{}, fmt.Errorf("topology file %s is larger than %d KiB: a topology file is a page of YAML; is it the right file?", path, maxFileSize>>10)
	}
	return Parse(path, data)
}

func notRegular(path string, fi os.FileInfo) error {
	return fmt.Errorf("topology file %s is a %s, not a regular file: give the path of a YAML topology file", path, filekind.Of(fi.Mode()))
}

// Parse decodes and validates the contents of a topology file; file is its
// name in errors. Decoding is strict: an unknown field, a value of the wrong
// kind or a key given twice is an error. The error is an *InvalidError with
// every problem found, each with its line.
func Parse(file string, data []byte) (Spec, error) {
	return parse(file, data, 0)
}

// parse is Parse with the file's size replaced by size when it is not 0.
func parse(file string, data []byte, size int) (Spec, error) {
	fail := func(probs ...Problem) (Spec, error) {
		for i := range probs {
			probs[i].File = file
		}
		return Spec{}, &InvalidError{File: file, Problems: probs}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(Problem{Msg: "empty file: a topology needs at least a name and nodes"})
		}
		return fail(yamlProblem(err))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return fail(Problem{Line: more.Line, Msg: "a second YAML document (after ---): put one topology in a file"})
	}
	w := walker{lines: map[string]int{}}
	w.walk(&root, reflect.TypeFor[fileSpec](), "", "")
	if len(w.probs) > 0 {
		return fail(w.probs...)
	}
	var f fileSpec
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&f); err != nil {
		// The walk above lets nothing through that this refuses; this is
		// the parser's own word, kept as a second line of defence.
		return fail(yamlProblem(err))
	}
	spec, origin, probs := f.expand(size)
	if f.Name == "" {
		probs = append(probs, Problem{Field: "name", Msg: "missing: name the topology, e.g. `name: lab` (lowercase letters, digits or '_')"})
	} else if len(probs) == 0 && !validName(spec.Name) {
		probs = append(probs, Problem{Field: "name", Msg: fmt.Sprintf("topology name %q: want lowercase letters, digits or '_', at most 20, a letter first", spec.Name)})
	}
	if len(probs) == 0 {
		probs = spec.problems()
	}
	if len(probs) > 0 {
		for i := range probs {
			probs[i].Line = w.line(probs[i].Field, origin)
		}
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return fail(probs...)
	}
	return spec, nil
}

// yamlProblem turns the parser's "yaml: line 3: ..." into a located problem.
func yamlProblem(err error) Problem {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{Msg: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				p.Line, p.Msg = n, text
			}
		}
	}
	if te == nil {
		p.Msg += " (YAML syntax)"
	}
	return p
}

// walker checks a parsed YAML tree against the Go types it will be decoded
// into, field by field, so that every problem names its line, field and
// node, and records the line of every field for the validation that follows.
type walker struct {
	lines map[string]int
	probs []Problem
}

func (w *walker) bad(n *yaml.Node, field, node, format string, args ...any) {
	w.probs = append(w.probs, Problem{Line: n.Line, Field: field, Node: node, Msg: fmt.Sprintf(format, args...)})
}

// noun names a type in "unknown field" messages.
func noun(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Node]():
		return "a node"
	case reflect.TypeFor[Link]():
		return "a link"
	case reflect.TypeFor[Endpoint]():
		return "a link end"
	case reflect.TypeFor[Route]():
		return "a route"
	case reflect.TypeFor[repeat]():
		return "a repeat block"
	}
	return "a topology"
}

func kind(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping (field: value)"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path, node string) {
	for n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return
		}
	}
	w.lines[path] = n.Line
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value: the field's zero value
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want := yaml.ScalarNode
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		want = yaml.MappingNode
	case reflect.Slice:
		want = yaml.SequenceNode
	}
	if n.Kind != want {
		w.bad(n, path, node, "want %s, got %s", kind(want), kind(n.Kind))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		w.walkStruct(n, t, path, node)
	case reflect.Map:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if first, dup := seen[k.Value]; dup {
				w.bad(k, join(path, k.Value), node, "given twice (first on line %d)", first)
				continue
			}
			seen[k.Value] = k.Line
			w.walk(v, t.Elem(), join(path, k.Value), node)
		}
	case reflect.Slice:
		for i, item := range n.Content {
			w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), node)
		}
	case reflect.Bool:
		if n.Tag != "!!bool" {
			w.bad(n, path, node, "want true or false, got %q", n.Value)
		}
	case reflect.Int:
		if n.Tag != "!!int" {
			w.bad(n, path, node, "want a whole number, got %q", n.Value)
		}
	}
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, path, node string) {
	fields := yamlFields(t)
	// The node a mapping concerns: a node's own name, a link end's node.
	var key string
	switch t {
	case reflect.TypeFor[Node]():
		key = "name"
	case reflect.TypeFor[Endpoint]():
		key = "node"
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; key != "" && k.Value == key && v.Kind == yaml.ScalarNode {
			node = v.Value
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := join(path, k.Value)
		ft, ok := fields[k.Value]
		if !ok {
			w.bad(k, field, node, "unknown field %q (%s has: %s)", k.Value, noun(t), strings.Join(orderedYAMLFields(t), ", "))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.bad(k, field, node, "given twice (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		w.walk(v, ft, field, node)
	}
}

// yamlFields maps a struct's YAML field names to their types, inlined
// structs included.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name != "" {
			m[name] = f.Type
		}
	}
	return m
}

// orderedYAMLFields lists a struct's YAML field names in declaration order.
func orderedYAMLFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			names = append(names, orderedYAMLFields(f.Type)...)
		} else if name != "" {
			names = append(names, name)
		}
	}
	return names
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// line finds the line of a field: the field's own, or that of the nearest
// enclosing one that the file has (a missing addr: its link end). Fields of
// generated nodes and links are found through origin, at their template.
func (w *walker) line(field string, origin map[string]string) int {
	if end := strings.IndexByte(field, ']'); end >= 0 {
		if o, ok := origin[field[:end+1]]; ok {
			field = o + field[end+1:]
		}
	}
	for field != "" {
		if l, ok := w.lines[field]; ok {
			return l
		}
		cut := strings.LastIndexAny(field, ".[")
		if cut < 0 {
			break
		}
		field = field[:cut]
	}
	return 0
}
