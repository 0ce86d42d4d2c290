package labs

import "io/fs"

// StepFiles is the folder of step name in a lab's embedded steps/ folder:
// its <lab>.c and exercise.md, as Step.Files holds them.
func StepFiles(steps fs.FS, name string) fs.FS {
	sub, err := fs.Sub(steps, "steps/"+name)
	if err != nil {
		panic(err) // a constant path the lab's embed directive holds
	}
	return sub
}
