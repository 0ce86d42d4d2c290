// Package docs embeds the lab guides so `xdplab guide` shows the same text as
// docs/labs/<lab>.md.
package docs

import (
	"embed"
	"fmt"
)

//go:embed labs/*.md
var guides embed.FS

// Guide returns the markdown guide of a lab.
func Guide(lab string) string {
	b, err := guides.ReadFile("labs/" + lab + ".md")
	if err != nil {
		return fmt.Sprintf("# %s\n\nNo guide yet: docs/labs/%s.md is missing.\n", lab, lab)
	}
	return string(b)
}
