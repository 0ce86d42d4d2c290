package labs_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/guide"
)

// TestGuideIn: a translated guide is printed without its source line, its
// title numbered in its language and its commands spelled for the
// instance; a language the lab lacks is ErrNoTranslation, and one the
// guides are not written in a usage error that lists the languages.
func TestGuideIn(t *testing.T) {
	lab := xdpLab("demo").with(func(i *labs.Info) {
		i.Guides = fstest.MapFS{"guide.ja.md": {Data: []byte(guide.Header(i.Guide) +
			"\n# demo — デモ\n\nnetns xdplab-demo-host\n\n```sh\nsudo xdplab up demo  # xdplab-guide: exit 0\n```\n")}}
	})
	r := labs.NewRegistry()
	if err := r.Register(xdpLab("first")); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(lab); err != nil {
		t.Fatal(err)
	}
	got, err := r.GuideIn("ja", "demo", "alice")
	if want := "# ラボ 2: demo — デモ\n\nnetns alice-demo-host\n\n```sh\nsudo xdplab up demo --instance alice\n```\n"; err != nil || got != want {
		t.Errorf("GuideIn(ja, demo, alice) = %q, %v\nwant %q", got, err, want)
	}
	if en, err := r.GuideIn("en", "demo", labs.DefaultInstance); err != nil || !strings.HasPrefix(en, "# Lab 2: demo — what it is\n") {
		t.Errorf("GuideIn(en) = %q, %v", en, err)
	}
	_, err = r.GuideIn("zh", "demo", labs.DefaultInstance)
	if !errors.Is(err, labs.ErrNoTranslation) || err.Error() != "guide demo in Chinese (Simplified): no translation yet" {
		t.Errorf("GuideIn(zh) of a lab without it: %v", err)
	}
	_, err = r.GuideIn("fr", "demo", labs.DefaultInstance)
	if !errors.Is(err, labs.ErrUsage) || err.Error() != `no guides in "fr": --lang is one of en, ja, zh` {
		t.Errorf("GuideIn(fr): %v", err)
	}
	if _, err := r.GuideIn("ja", "nope", labs.DefaultInstance); !errors.Is(err, labs.ErrUnknownLab) {
		t.Errorf("GuideIn of an unknown lab: %v", err)
	}
}

// TestRegisterValidatesTranslations: a lab whose Guides holds a file that
// is no translation into a language of the guides, or a translation
// without its source line or with another lab's title, is refused when it
// registers.
func TestRegisterValidatesTranslations(t *testing.T) {
	header := guide.Header("# demo — what it is\n\ntext\n") + "\n"
	for _, c := range []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"unknown language", fstest.MapFS{"guide.fr.md": {Data: []byte(header + "# demo — x\n")}}, "guides: guide.fr.md is not guide.<lang>.md with lang one of ja, zh"},
		{"English", fstest.MapFS{"guide.en.md": {Data: []byte(header + "# demo — x\n")}}, "guides: guide.en.md is not guide.<lang>.md"},
		{"no source line", fstest.MapFS{"guide.ja.md": {Data: []byte("# demo — x\n")}}, "demo guide in ja: the first line must record the English guide it translates"},
		{"title", fstest.MapFS{"guide.zh.md": {Data: []byte(header + "# other — x\n")}}, `guides: guide.zh.md: the title, after the source line, must be "# demo — <title>", is "# other — x"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := labs.NewRegistry().Register(xdpLab("demo").with(func(i *labs.Info) { i.Guides = c.files }))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Register: %v\nwant %q", err, c.want)
			}
		})
	}
}
