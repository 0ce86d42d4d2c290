package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/guide"
)

func (a *app) guideCmd() *cli.Command {
	return &cli.Command{
		Name:      "guide",
		Usage:     "print a lab's guide (labs/<lab>/guide.md, or its translation), its commands spelled for your instance",
		ArgsUsage: "<lab>",
		Flags: withInstance(&cli.StringFlag{
			Name:  "lang",
			Usage: "the guide's language: " + strings.Join(guide.LanguageCodes(), ", ") + " (default: from LC_ALL, LC_MESSAGES or LANG, else en)",
		}),
		Action: func(c *cli.Context) error {
			name, err := a.oneLab(c)
			if err != nil {
				return err
			}
			// The instance is only spelled into the text; an invalid name is
			// refused as every command refuses it.
			r, err := a.runner(c)
			if err != nil {
				return err
			}
			lang := c.String("lang")
			if !c.IsSet("lang") {
				lang = guide.LanguageFromEnv(os.Getenv)
			}
			text, err := a.reg.GuideIn(lang, name, r.Instance)
			if errors.Is(err, labs.ErrNoTranslation) {
				// CLI messages stay English, and so does a guide not
				// translated yet: better than none.
				fmt.Fprintf(os.Stderr, "xdplab: %v: printing the English guide\n", err)
				text, err = a.reg.Guide(name, r.Instance)
			}
			if err != nil {
				return err
			}
			fmt.Print(text)
			return nil
		},
	}
}
