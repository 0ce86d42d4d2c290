package labs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/provenance"
)

// TestOriginOf: up records the embedded program's sha256, or the --obj
// file's; an object gone since Validate read it is an environment error
// that names it.
func TestOriginOf(t *testing.T) {
	info := Info{Name: "lab", Object: []byte("embedded program")}
	if o, err := originOf(info, Options{}); err != nil || o != provenance.Embedded(info.Object) {
		t.Errorf("embedded: %+v, %v", o, err)
	}
	obj := filepath.Join(t.TempDir(), "mine.o")
	os.WriteFile(obj, []byte("learner's program"), 0o644)
	if o, err := originOf(info, Options{Obj: obj}); err != nil || o.Kind != provenance.KindObj || o.SHA256 != provenance.Sum([]byte("learner's program")) {
		t.Errorf("obj: %+v, %v", o, err)
	}
	os.Remove(obj)
	_, err := originOf(info, Options{Obj: obj})
	if !errors.Is(err, ErrEnvironment) || !strings.Contains(err.Error(), "read object "+obj+" to record its sha256") ||
		!strings.Contains(err.Error(), "check that it is still there and readable") {
		t.Errorf("obj gone: %v", err)
	}
}
