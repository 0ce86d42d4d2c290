package guide

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Language is one language a guide is written in.
type Language struct {
	// Code is its name on the command line (--lang) and in file names
	// (guide.ja.md): the ISO 639-1 code.
	Code string
	// Name is the language's name in English, for messages.
	Name string
	// Lab is the word for "Lab" in the numbered title `xdplab guide`
	// prints ("# ラボ 3: basic_firewall — ...").
	Lab string
}

// English is the language guides are written in; the others translate it.
const English = "en"

// Languages are the languages of the guides, English first.
var Languages = []Language{
	{Code: English, Name: "English", Lab: "Lab"},
	{Code: "ja", Name: "Japanese", Lab: "ラボ"},
	{Code: "zh", Name: "Chinese (Simplified)", Lab: "实验"},
}

// LanguageCodes are the codes of Languages, in order.
func LanguageCodes() []string {
	codes := make([]string, len(Languages))
	for i, l := range Languages {
		codes[i] = l.Code
	}
	return codes
}

// LookupLanguage finds a language by its code.
func LookupLanguage(code string) (Language, bool) {
	for _, l := range Languages {
		if l.Code == code {
			return l, true
		}
	}
	return Language{}, false
}

// TranslationFile is the file of a lab's guide in a language, beside
// guide.md: guide.ja.md.
func TranslationFile(code string) string {
	if code == English {
		return "guide.md"
	}
	return "guide." + code + ".md"
}

// LanguageFromEnv is the language a reader's locale asks for, as gettext
// reads it: the first of LC_ALL, LC_MESSAGES and LANG that is set decides
// (so LC_ALL=C wins over LANG=ja_JP.UTF-8). A locale whose language has a
// guide gives it (ja_JP.UTF-8 is ja; zh_CN and zh_TW are zh, the one Chinese
// there is); C, POSIX, unset and any other give English.
func LanguageFromEnv(getenv func(string) string) string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if locale := getenv(v); locale != "" {
			return languageOf(locale)
		}
	}
	return English
}

// languageOf is the guide language of a locale name,
// language[_territory][.codeset][@modifier].
func languageOf(locale string) string {
	lang, _, _ := strings.Cut(locale, "@")
	lang, _, _ = strings.Cut(lang, ".")
	lang, _, _ = strings.Cut(lang, "_")
	lang = strings.ToLower(lang)
	if _, ok := LookupLanguage(lang); ok {
		return lang
	}
	return English
}

// translationHeader starts the first line of a translated guide, which
// records the English guide it translates:
// <!-- xdplab-translation: source sha256 HEX -->.
const translationHeader = "<!-- xdplab-translation: source sha256 "

// Hash is the sha256 of an English guide as a translation records it.
func Hash(english string) string {
	sum := sha256.Sum256([]byte(english))
	return hex.EncodeToString(sum[:])
}

// Header is the first line of a translation of english.
func Header(english string) string {
	return translationHeader + Hash(english) + " -->"
}

// Translation is a translated guide.
type Translation struct {
	// Source is the sha256 of the English guide it translates.
	Source string
	// Text is the guide without its first line, the header: it starts with
	// its title.
	Text string
}

// ParseTranslation reads a translated guide: its first line records the
// English guide it translates (see Header).
func ParseTranslation(md string) (Translation, error) {
	first, rest, _ := strings.Cut(md, "\n")
	hash, ok := strings.CutPrefix(first, translationHeader)
	hash, ok2 := strings.CutSuffix(hash, " -->")
	if b, err := hex.DecodeString(hash); !ok || !ok2 || err != nil || len(b) != sha256.Size {
		return Translation{}, fmt.Errorf("the first line must record the English guide it translates, %sHEX --> (HEX the sha256 of guide.md), is %q", translationHeader, first)
	}
	return Translation{Source: hash, Text: rest}, nil
}

// ErrStale is the error of a translation whose English guide changed since
// it was translated.
var ErrStale = errors.New("the English guide changed since it was translated")

// Check tells whether a translation is in step with the English guide: the
// same code blocks (commands, output samples, programs), in the same order,
// and the sha256 of the English it says it translates. A block that
// differs is named, the first one, with its lines in both; a translation
// whose blocks agree but whose English changed (its prose) is ErrStale.
func (tr Translation) Check(english string) error {
	var errs []error
	if err := SameBlocks(english, tr.Text); err != nil {
		errs = append(errs, err)
	}
	if now := Hash(english); tr.Source != now {
		errs = append(errs, fmt.Errorf("%w: it translates sha256 %s, the English is now %s", ErrStale, tr.Source, now))
	}
	return errors.Join(errs...)
}

// SameBlocks reports the first fenced code block in which a translation
// differs from the English guide, of any language (sh, text, console, c...),
// or a block one has and the other has not.
func SameBlocks(english, translation string) error {
	en, err := Blocks(english)
	if err != nil {
		return fmt.Errorf("the English guide: %w", err)
	}
	tr, err := Blocks(translation)
	if err != nil {
		return fmt.Errorf("the translation: %w", err)
	}
	for i := range max(len(en), len(tr)) {
		switch {
		case i >= len(tr):
			return fmt.Errorf("code block %d (English line %d, ```%s) is missing from the translation, which has %d blocks: %s",
				i+1, en[i].Line, en[i].Lang, len(tr), firstLine(en[i].Lines))
		case i >= len(en):
			return fmt.Errorf("code block %d (translation line %d, ```%s) is not in the English guide, which has %d blocks: %s",
				i+1, tr[i].Line, tr[i].Lang, len(en), firstLine(tr[i].Lines))
		}
		e, t := en[i], tr[i]
		if e.Lang != t.Lang {
			return fmt.Errorf("code block %d (English line %d, translation line %d) is ```%s in English, ```%s in the translation",
				i+1, e.Line, t.Line, e.Lang, t.Lang)
		}
		for j := range max(len(e.Lines), len(t.Lines)) {
			el, tl := lineAt(e.Lines, j), lineAt(t.Lines, j)
			if el != tl {
				return fmt.Errorf("code block %d (```%s, English line %d, translation line %d) differs from its line %d: English %q, translation %q",
					i+1, e.Lang, e.Line, t.Line, j+1, el, tl)
			}
		}
	}
	return nil
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(no line)"
}
