package guide_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/labs/guide"
)

// TestLanguageFromEnv: the first of LC_ALL, LC_MESSAGES and LANG that is
// set chooses the guide's language; a locale without a guide is English.
func TestLanguageFromEnv(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "en"},
		{map[string]string{"LANG": "ja_JP.UTF-8"}, "ja"},
		{map[string]string{"LANG": "ja_JP.eucJP"}, "ja"},
		{map[string]string{"LANG": "ja"}, "ja"},
		{map[string]string{"LANG": "zh_CN.UTF-8"}, "zh"},
		{map[string]string{"LANG": "zh_CN"}, "zh"},
		{map[string]string{"LANG": "zh_TW.UTF-8"}, "zh"},
		{map[string]string{"LANG": "zh_CN.GB18030@stroke"}, "zh"},
		{map[string]string{"LANG": "C"}, "en"},
		{map[string]string{"LANG": "POSIX"}, "en"},
		{map[string]string{"LANG": "C.UTF-8"}, "en"},
		{map[string]string{"LANG": "de_DE.UTF-8"}, "en"},
		{map[string]string{"LANG": "en_US.UTF-8"}, "en"},
		{map[string]string{"LANG": "ja_JP.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"},
		{map[string]string{"LANG": "ja_JP.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_ALL": "ja_JP.UTF-8"}, "ja"},
		// An empty variable is unset: the next one decides.
		{map[string]string{"LANG": "ja_JP.UTF-8", "LC_ALL": ""}, "ja"},
	} {
		if got := guide.LanguageFromEnv(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: %s, want %s", c.env, got, c.want)
		}
	}
}

const english = "# demo — a guide\n\nRun it:\n\n```sh\nsudo xdplab up demo\n```\n\nIt prints:\n\n```text\nIPPROTO_ICMP : 3\n```\n"

func translated(header, body string) string { return header + "\n" + body }

const japanese = "# demo — ガイド\n\n実行します:\n\n```sh\nsudo xdplab up demo\n```\n\n出力:\n\n```text\nIPPROTO_ICMP : 3\n```\n"

// TestTranslationInStep: a translation that records the English's hash and
// has its blocks is in step; its text starts with the title.
func TestTranslationInStep(t *testing.T) {
	tr, err := guide.ParseTranslation(translated(guide.Header(english), japanese))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != japanese || tr.Source != guide.Hash(english) {
		t.Errorf("ParseTranslation = %+v", tr)
	}
	if err := tr.Check(english); err != nil {
		t.Error(err)
	}
}

// TestTranslationOutOfStep: each way a translation falls out of step with
// the English guide is named, with the first block that differs.
func TestTranslationOutOfStep(t *testing.T) {
	newEnglish := strings.Replace(english, "sudo xdplab up demo", "sudo xdplab up demo --mode native", 1)
	for _, c := range []struct {
		name, english, translation string
		stale                      bool
		want                       []string
	}{
		{"English command changed", newEnglish, japanese, true, []string{
			"code block 1 (```sh, English line 5, translation line 5) differs from its line 1",
			`English "sudo xdplab up demo --mode native", translation "sudo xdplab up demo"`,
			"it translates sha256 " + guide.Hash(english) + ", the English is now " + guide.Hash(newEnglish),
		}},
		{"English prose changed", strings.Replace(english, "Run it", "Run the lab", 1), japanese, true, []string{
			"the English guide changed since it was translated",
		}},
		{"output sample changed", english, strings.Replace(japanese, ": 3", ": 4", 1), false, []string{
			"code block 2 (```text, English line 11, translation line 11) differs",
		}},
		{"block missing", english, strings.Split(japanese, "出力")[0], false, []string{
			"code block 2 (English line 11, ```text) is missing from the translation, which has 1 blocks: IPPROTO_ICMP : 3",
		}},
		{"block added", english, japanese + "\n```sh\nxdplab list\n```\n", false, []string{
			"code block 3 (translation line 15, ```sh) is not in the English guide",
		}},
		{"language changed", english, strings.Replace(japanese, "```text", "```console", 1), false, []string{
			"code block 2 (English line 11, translation line 11) is ```text in English, ```console in the translation",
		}},
		{"line added", english, strings.Replace(japanese, "up demo\n", "up demo\nxdplab list\n", 1), false, []string{
			`differs from its line 2: English "(no line)", translation "xdplab list"`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := guide.ParseTranslation(translated(guide.Header(english), c.translation))
			if err != nil {
				t.Fatal(err)
			}
			err = tr.Check(c.english)
			if err == nil {
				t.Fatal("in step")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nlacks %q", err, w)
				}
			}
			if errors.Is(err, guide.ErrStale) != c.stale {
				t.Errorf("errors.Is(ErrStale) = %v, want %v: %v", !c.stale, c.stale, err)
			}
		})
	}
}

// TestTranslationHeader: a translation without the line that records its
// English source is refused with the line it needs.
func TestTranslationHeader(t *testing.T) {
	for _, md := range []string{
		japanese,
		"<!-- xdplab-translation: source sha256 abc -->\n" + japanese,
		"<!-- xdplab-translation: source sha256 " + guide.Hash(english) + "-->\n" + japanese,
		"\n" + translated(guide.Header(english), japanese),
	} {
		_, err := guide.ParseTranslation(md)
		if err == nil || !strings.Contains(err.Error(), "the first line must record the English guide it translates, <!-- xdplab-translation: source sha256 HEX -->") {
			t.Errorf("%.60q: %v", md, err)
		}
	}
	if h := guide.Header(english); !strings.HasPrefix(h, "<!-- xdplab-translation: source sha256 ") || len(h) != len("<!-- xdplab-translation: source sha256  -->")+64 {
		t.Errorf("Header = %q", h)
	}
}
