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

// StepFiles is one step's folder, steps/<name>, of the tree a lab embeds
// with //go:embed steps: the Files of that Step.
func StepFiles(steps fs.FS, name string) fs.FS {
	return StepDir(steps, "steps/"+name)
}
