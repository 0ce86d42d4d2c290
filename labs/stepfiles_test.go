package labs

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

func TestStepDir(t *testing.T) {
	tree := fstest.MapFS{"steps/ipv6/lab.c": {Data: []byte("int x;")}}
	if b, err := fs.ReadFile(StepDir(tree, "steps/ipv6"), "lab.c"); err != nil || string(b) != "int x;" {
		t.Errorf("read lab.c of steps/ipv6: %q, %v", b, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a bad directory did not panic")
		}
	}()
	StepDir(tree, "../steps")
}
