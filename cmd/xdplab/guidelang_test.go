package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/labs/course"
	"github.com/xdplab/xdplab/labs/guide"
)

// guideWithLocale runs `xdplab guide` with a locale of its own: the
// variables of env and none of the caller's LC_ALL, LC_MESSAGES or LANG.
func guideWithLocale(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"guide"}, args...)...)
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "LC_ALL" && name != "LC_MESSAGES" && name != "LANG" && name != "XDPLAB_INSTANCE" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return xdplabCmd(t, cmd)
}

// TestGuideLanguage: `xdplab guide --lang` prints the guide in that
// language; without it, the first of LC_ALL, LC_MESSAGES and LANG that is
// set chooses (C, POSIX, unset or a language without guides: English);
// --lang wins over the locale; an unknown --lang is a usage error listing
// the languages.
func TestGuideLanguage(t *testing.T) {
	const lab = "packet_counter"
	reg := course.Registry()
	want := map[string]string{}
	for _, lang := range guide.LanguageCodes() {
		g, err := reg.GuideIn(lang, lab, "xdplab")
		if err != nil {
			t.Fatalf("%s in %s: %v", lab, lang, err)
		}
		want[lang] = g
	}
	n := reg.Number(lab)
	if !strings.HasPrefix(want["ja"], fmt.Sprintf("# ラボ %d: packet_counter — ", n)) || !strings.HasPrefix(want["zh"], fmt.Sprintf("# 实验 %d: packet_counter — ", n)) {
		t.Fatalf("the translations' titles are not numbered in their language:\n%.80s\n%.80s", want["ja"], want["zh"])
	}
	for _, c := range []struct {
		env  []string
		args []string
		lang string
	}{
		{nil, nil, "en"},
		{[]string{"LANG=ja_JP.UTF-8"}, nil, "ja"},
		{[]string{"LANG=zh_CN.UTF-8"}, nil, "zh"},
		{[]string{"LANG=zh_CN"}, nil, "zh"},
		{[]string{"LANG=C"}, nil, "en"},
		{[]string{"LANG=POSIX"}, nil, "en"},
		{[]string{"LANG=fr_FR.UTF-8"}, nil, "en"},
		{[]string{"LANG=en_US.UTF-8", "LC_MESSAGES=ja_JP.UTF-8"}, nil, "ja"},
		{[]string{"LANG=ja_JP.UTF-8", "LC_MESSAGES=ja_JP.UTF-8", "LC_ALL=zh_CN.UTF-8"}, nil, "zh"},
		{[]string{"LANG=ja_JP.UTF-8", "LC_ALL=C"}, nil, "en"},
		{[]string{"LANG=ja_JP.UTF-8"}, []string{"--lang", "en"}, "en"},
		{[]string{"LANG=ja_JP.UTF-8"}, []string{"--lang", "zh"}, "zh"},
		{nil, []string{"--lang=ja"}, "ja"},
	} {
		r := guideWithLocale(t, c.env, append([]string{lab}, c.args...)...)
		if r.code != 0 || r.stdout != want[c.lang] || r.stderr != "" {
			t.Errorf("%v xdplab guide %s %v: exit %d, first line %q, stderr %q; want the %s guide",
				c.env, lab, c.args, r.code, strings.SplitN(r.stdout, "\n", 2)[0], r.stderr, c.lang)
		}
	}

	// The translation is spelled for the instance as the English is.
	r := mustSucceed(t, guideWithLocale(t, []string{"LANG=ja_JP.UTF-8", "XDPLAB_INSTANCE=alice"}, lab))
	if g, _ := reg.GuideIn("ja", lab, "alice"); r.stdout != g || !strings.Contains(g, "sudo xdplab up packet_counter --instance alice") {
		t.Errorf("the Japanese guide for instance alice is not spelled for it:\n%s", r.stdout)
	}

	for _, c := range []struct{ lang, want string }{
		{"fr", `no guides in "fr": --lang is one of en, ja, zh`},
		{"ja_JP", `no guides in "ja_JP": --lang is one of en, ja, zh`},
		{"", "--lang needs a value"},
	} {
		r := guideWithLocale(t, []string{"LANG=ja_JP.UTF-8"}, lab, "--lang", c.lang)
		wantError(t, r, c.want, "xdplab help <command>")
		if r.stdout != "" {
			t.Errorf("--lang %q printed a guide:\n%.200s", c.lang, r.stdout)
		}
	}
}
