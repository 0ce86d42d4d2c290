package course_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/labs/course"
)

// root is the repository, from this package's directory.
const root = "../.."

// mdLink is a markdown link: its text and its target.
var mdLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]+)\)`)

// checkLinks fails for each relative link of a markdown file whose target
// does not exist.
func checkLinks(t *testing.T, file, text string) {
	t.Helper()
	for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
		target := m[2]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		target, _, _ = strings.Cut(target, "#")
		if _, err := os.Stat(filepath.Join(filepath.Dir(file), target)); err != nil {
			t.Errorf("%s: link [%s](%s) leads nowhere: %v", file, m[1], m[2], err)
		}
	}
}

// TestGuides checks every registered lab's guide: it is labs/<lab>/guide.md
// (embedded, so what `xdplab guide` prints is that file), its title is
// "# <lab> — <title>" and `xdplab guide` numbers it by the lab's place,
// it tells how to load one's own object (--obj), and its links lead
// somewhere.
func TestGuides(t *testing.T) {
	reg := course.Registry()
	for i, l := range reg.All() {
		info := l.Info()
		t.Run(info.Name, func(t *testing.T) {
			file := filepath.Join(root, "labs", info.Name, "guide.md")
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("the guide is not in the lab's folder: %v", err)
			}
			if string(b) != info.Guide {
				t.Errorf("Info().Guide is not %s", file)
			}
			title, _, _ := strings.Cut(info.Guide, "\n")
			if !regexp.MustCompile(`^# ` + info.Name + ` — \S.*$`).MatchString(title) {
				t.Errorf("title %q is not %q", title, "# "+info.Name+" — <title>")
			}
			printed, err := reg.Guide(info.Name)
			if want := fmt.Sprintf("# Lab %d: %s\n", i+1, strings.TrimPrefix(title, "# ")); err != nil || !strings.HasPrefix(printed, want) {
				t.Errorf("xdplab guide starts %q, want %q", printed[:min(len(printed), 80)], want)
			}
			if !strings.Contains(info.Guide, "--obj") {
				t.Error("the guide does not say how to load your own object (--obj)")
			}
			checkLinks(t, file, info.Guide)
		})
	}
}

// TestGuideIndex: the README's lab table, the one index of the guides,
// lists exactly the registered labs in course order, each linking its
// guide and naming the lab's source; docs/labs/README.md's links resolve.
func TestGuideIndex(t *testing.T) {
	reg := course.Registry()
	index := filepath.Join(root, "docs", "labs", "README.md")
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	checkLinks(t, index, string(b))

	readme := filepath.Join(root, "README.md")
	b, err = os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\| \[([a-z0-9_]+)\]\(([^)]+)\) \| [^|]+ \| (.+) \|$`)
	var listed []string
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		name, target, source := m[1], m[2], m[3]
		listed = append(listed, name)
		if want := "labs/" + name + "/guide.md"; target != want {
			t.Errorf("README links %s to %s, want %s", name, target, want)
		}
		if l, err := reg.Get(name); err == nil && l.Info().Source != source {
			t.Errorf("README gives %s the source %q, its Info %q", name, source, l.Info().Source)
		}
	}
	if !slices.Equal(listed, reg.Names()) {
		t.Errorf("the README's lab table lists %v, the course is %v", listed, reg.Names())
	}
	checkLinks(t, readme, string(b))
}

// TestEveryLabNamesItsEmbeddedObject: reports give the sha256 of the
// program a lab embeds, so every lab's Info holds the very object that
// `make generate` wrote next to its C.
func TestEveryLabNamesItsEmbeddedObject(t *testing.T) {
	for _, l := range course.Registry().All() {
		info := l.Info()
		file := filepath.Join(root, "labs", info.Name, "bpf_bpfel.o")
		want, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		if !slices.Equal(info.ReferenceObject(""), want) {
			t.Errorf("%s: Info.Object (%d bytes) is not %s (%d bytes)", info.Name, len(info.Object), file, len(want))
		}
	}
}
