package labs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// TestDownRefusesPathNames: a name with a path in it is an unknown lab, even
// when a file of that name exists outside the instance's state directory.
func TestDownRefusesPathNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "outside.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &labs.Runner{Registry: course.Registry(), Instance: "t0", StateDir: filepath.Join(dir, "state")}
	_, err := r.Down(context.Background(), "../../outside")
	if !errors.Is(err, labs.ErrUnknownLab) {
		t.Errorf("down ../../outside = %v, want unknown lab", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "outside.json")); err != nil {
		t.Errorf("the file outside is gone: %v", err)
	}
}
