package course_test

import (
	"errors"
	"fmt"
	"io/fs"
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

// translations are the languages besides English.
func translations() []guide.Language { return guide.Languages[1:] }

// TestTranslationsInStep is the translation-sync rule: every lab's guide
// exists in every language, as labs/<lab>/guide.<lang>.md embedded by the
// lab (Info.Guides); each translation has exactly the English guide's code
// blocks (commands, output samples, programs) in the same order, and
// records the sha256 of the guide.md it translates. A guide changed in
// English and not in a translation fails here, naming the lab, the
// language and the first block that differs, with the command that prints
// the new hash.
func TestTranslationsInStep(t *testing.T) {
	for _, l := range course.Registry().All() {
		info := l.Info()
		for _, lang := range translations() {
			t.Run(info.Name+"/"+lang.Code, func(t *testing.T) {
				file := filepath.Join("labs", info.Name, guide.TranslationFile(lang.Code))
				if err := translationInStep(info, lang, file); err != nil {
					t.Errorf("%s", err)
				}
			})
		}
		if err := fs.WalkDir(os.DirFS(filepath.Join(root, "labs", info.Name)), ".", func(p string, d fs.DirEntry, err error) error {
			if m, _ := filepath.Match("guide.*.md", d.Name()); m && !slices.ContainsFunc(guide.Languages, func(l guide.Language) bool { return guide.TranslationFile(l.Code) == d.Name() }) {
				t.Errorf("labs/%s/%s: no such language: the guides are in %s", info.Name, p, strings.Join(guide.LanguageCodes(), ", "))
			}
			return err
		}); err != nil {
			t.Error(err)
		}
	}
}

// translationInStep is the sync rule for one lab and language: nil, or
// what is wrong and how to put it right.
func translationInStep(info labs.Info, lang guide.Language, file string) error {
	english := filepath.Join("labs", info.Name, "guide.md")
	hashCmd := "sha256sum " + english
	b, err := os.ReadFile(filepath.Join(root, file))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lab %s has no %s guide: %s is missing. Translate %s into it; its first line records the English it translates, %q (`%s` prints the hash)",
			info.Name, lang.Name, file, english, "<!-- xdplab-translation: source sha256 HEX -->", hashCmd)
	}
	if err != nil {
		return err
	}
	var embedded []byte
	if info.Guides != nil {
		embedded, _ = fs.ReadFile(info.Guides, guide.TranslationFile(lang.Code))
	}
	if string(embedded) != string(b) {
		return fmt.Errorf("lab %s, %s: %s is not what the lab embeds (Info.Guides): embed it in the lab's package (//go:embed guide.*.md) and set Info.Guides",
			info.Name, lang.Name, file)
	}
	tr, err := guide.ParseTranslation(string(b))
	if err != nil {
		return fmt.Errorf("lab %s, %s: %s: %w (`%s` prints the hash)", info.Name, lang.Name, file, err, hashCmd)
	}
	if err := tr.Check(info.Guide); err != nil {
		return fmt.Errorf("lab %s, %s: %s is out of step with %s: %w\nBring the translation in step with the English, then record the English it translates on its first line: `%s` prints the new hash",
			info.Name, lang.Name, file, english, err, hashCmd)
	}
	return nil
}

// TestTranslatedGuides: every translation reads as its lab's guide does:
// its title is "# <lab> — <title>", `xdplab guide --lang` numbers it in its
// language and prints it without directives, it tells how to load one's own
// object, its links lead somewhere, and it appends the hints a learner meets
// in the lab, as printed and translated.
func TestTranslatedGuides(t *testing.T) {
	reg := course.Registry()
	for i, l := range reg.All() {
		info := l.Info()
		for _, lang := range translations() {
			t.Run(info.Name+"/"+lang.Code, func(t *testing.T) {
				text, ok, err := info.Translation(lang.Code)
				if err != nil || !ok {
					t.Skipf("no translation (TestTranslationsInStep says why): %v", err)
				}
				title, _, _ := strings.Cut(text, "\n")
				if !regexp.MustCompile(`^# ` + info.Name + ` — \S.*$`).MatchString(title) {
					t.Errorf("title %q is not %q", title, "# "+info.Name+" — <title>")
				}
				printed, err := reg.GuideIn(lang.Code, info.Name, labs.DefaultInstance)
				if want := fmt.Sprintf("# %s %d: %s\n", lang.Lab, i+1, strings.TrimPrefix(title, "# ")); err != nil || !strings.HasPrefix(printed, want) {
					t.Errorf("xdplab guide --lang %s starts %q, want %q (%v)", lang.Code, printed[:min(len(printed), 80)], want, err)
				}
				if strings.Contains(printed, guide.Marker) || strings.Contains(printed, "xdplab-translation") {
					t.Errorf("xdplab guide --lang %s prints a directive or the source line", lang.Code)
				}
				if !strings.Contains(text, "--obj") {
					t.Error("the guide does not say how to load your own object (--obj)")
				}
				heading := map[string]string{"ja": "## 付録: このラボで出会うヒント", "zh": "## 附录:本实验中会遇到的提示"}[lang.Code]
				_, appendix, ok := strings.Cut(text, "\n"+heading+"\n")
				if !ok || !strings.Contains(appendix, "\n> hint: ") {
					t.Errorf("no appendix %q that quotes the hints a learner meets as printed (> hint: ...), then translates them", heading)
				}
				checkLinks(t, filepath.Join(root, "labs", info.Name, guide.TranslationFile(lang.Code)), text)
			})
		}
	}
}

// TestTranslatedReadmes: README.<lang>.md exists for every language of the
// guides and the README's first lines link each one; each holds the
// README's set-up commands and learner's path (its first two code blocks),
// exactly, and the lab table in course order, linking the guide in its
// language where there is one.
func TestTranslatedReadmes(t *testing.T) {
	reg := course.Registry()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	first := strings.Join(strings.SplitN(readme, "\n", 6)[:5], "\n")
	blocks, err := guide.Blocks(readme)
	if err != nil || len(blocks) < 2 {
		t.Fatalf("README.md: %d blocks, %v", len(blocks), err)
	}
	ends := blocks[1].Line + len(blocks[1].Lines) + 1
	setup := strings.Join(strings.Split(readme, "\n")[blocks[0].Line-1:ends], "\n") + "\n"
	for _, lang := range translations() {
		file := "README." + lang.Code + ".md"
		t.Run(file, func(t *testing.T) {
			if !strings.Contains(first, "("+file+")") {
				t.Errorf("README.md's first lines do not link %s:\n%s", file, first)
			}
			b, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			if err := guide.SameBlocks(setup, text); err != nil {
				t.Errorf("%s's code blocks are not README.md's first two, the set-up commands and the learner's path, exactly: %v", file, err)
			}
			row := regexp.MustCompile(`(?m)^\| \[([a-z0-9_]+)\]\(([^)]+)\) \| [^|]+ \| (.+) \|$`)
			var listed []string
			for _, m := range row.FindAllStringSubmatch(text, -1) {
				name, target := m[1], m[2]
				listed = append(listed, name)
				want := "labs/" + name + "/guide.md"
				if _, err := os.Stat(filepath.Join(root, "labs", name, guide.TranslationFile(lang.Code))); err == nil {
					want = "labs/" + name + "/" + guide.TranslationFile(lang.Code)
				}
				if target != want {
					t.Errorf("%s links %s to %s, want %s", file, name, target, want)
				}
			}
			if !slices.Equal(listed, reg.Names()) {
				t.Errorf("%s's lab table lists %v, the course is %v", file, listed, reg.Names())
			}
			checkLinks(t, filepath.Join(root, file), text)
		})
	}
}
