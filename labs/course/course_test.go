package course_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/guide"
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
			printed, err := reg.Guide(info.Name, labs.DefaultInstance)
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

// TestGuidesForInstance spells every guide, and the README, for an
// instance: no namespace name, pin or state path of the default instance
// is left, every xdplab command a reader pastes that acts on an instance
// carries --instance, and for the default instance the guide is printed as
// written, less the guide test's directives.
func TestGuidesForInstance(t *testing.T) {
	reg := course.Registry()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{"README.md": string(readme)}
	// The translations too: a reader of any language pastes their commands.
	for _, lang := range translations() {
		file := "README." + lang.Code + ".md"
		if b, err := os.ReadFile(filepath.Join(root, file)); err == nil {
			docs[file] = string(b)
		}
	}
	for _, l := range reg.All() {
		info := l.Info()
		docs[filepath.Join("labs", info.Name, "guide.md")] = info.Guide
		for _, lang := range translations() {
			if text, ok, _ := info.Translation(lang.Code); ok {
				docs[filepath.Join("labs", info.Name, guide.TranslationFile(lang.Code))] = text
			}
		}
		printed, err := reg.Guide(info.Name, labs.DefaultInstance)
		if want := guide.Strip(info.Guide[len("# "):]); err != nil || !strings.HasSuffix(printed, want) || strings.Contains(printed, guide.Marker) {
			t.Errorf("%s: xdplab guide for the default instance is not the guide as written, without directives: %v", info.Name, err)
		}
	}
	const inst = "t0guide"
	stale := regexp.MustCompile(labs.DefaultInstance + `-(` + strings.Join(reg.Names(), "|") + `)-|/sys/fs/bpf/xdplab/` + labs.DefaultInstance + `\b|/run/xdplab/` + labs.DefaultInstance + `\b`)
	command := regexp.MustCompile(`(?:^|[\s(&|;])xdplab ([a-z][a-z_-]*)`)
	for file, text := range docs {
		t.Run(file, func(t *testing.T) {
			spelled := reg.ForInstance(text, inst)
			for n, line := range strings.Split(spelled, "\n") {
				if m := stale.FindString(line); m != "" {
					t.Errorf("%s:%d: %q is left for the default instance: %s", file, n+1, m, line)
				}
			}
			blocks, err := guide.Blocks(spelled)
			if err != nil {
				t.Fatal(err)
			}
			commands := 0
			for _, b := range blocks {
				for _, c := range b.Commands {
					wanted := 0
					for _, m := range command.FindAllStringSubmatch(c.Text, -1) {
						if !slices.Contains(labs.InstancelessCommands, m[1]) {
							wanted++
						}
					}
					commands += wanted
					if got := strings.Count(c.Text, "--instance "+inst); got != wanted {
						t.Errorf("%s:%d: %d xdplab commands that act on an instance, %d with --instance %s: %s", file, c.Line, wanted, got, inst, c.Text)
					}
				}
			}
			if commands == 0 {
				t.Errorf("%s: no xdplab command that acts on an instance in its sh blocks", file)
			}
		})
	}
}

// TestGuideConvention: every guide and the README follow the convention of
// the guide test (CONTRIBUTING.md, "Guides that run as written"): their
// blocks and directives read, and every file a block is given exists.
func TestGuideConvention(t *testing.T) {
	files := []string{"README.md"}
	for _, name := range course.Registry().Names() {
		files = append(files, filepath.Join("labs", name, "guide.md"))
	}
	for _, file := range files {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := guide.Blocks(string(b))
		if err != nil {
			t.Errorf("%s: %v", file, err)
		}
		for _, bl := range blocks {
			for _, g := range bl.Given {
				if _, err := os.Stat(filepath.Join(root, g.From)); err != nil {
					t.Errorf("%s:%d: given %s from %s: %v", file, bl.Line, g.File, g.From, err)
				}
			}
			if bl.NeedsSteps && file == "README.md" {
				t.Errorf("%s:%d: needs steps, but the README guides no one lab", file, bl.Line)
			}
		}
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
