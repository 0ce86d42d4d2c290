package labs

import "io/fs"

// StepFiles is one step's folder, steps/<name>, of the tree a lab embeds
// with //go:embed steps: the Files of that Step.
func StepFiles(steps fs.FS, name string) fs.FS {
	sub, err := fs.Sub(steps, "steps/"+name)
	if err != nil {
		panic(err) // only an invalid path fails, and a step's name is a constant
	}
	return sub
}
