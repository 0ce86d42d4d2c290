package labs

import "io/fs"

// StepDir is one step's files for Step.Files: the directory dir ("steps/
// drop_icmp") of a tree a lab embeds. dir is a constant that the lab's
// embed directive holds, so a bad one is a bug that panics at start.
func StepDir(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
