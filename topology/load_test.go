package topology_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/topology"
)

func TestLoad(t *testing.T) {
	if s, err := topology.Load("testdata/playground.yaml"); err != nil || s.Name != "routed" || len(s.Nodes) != 3 {
		t.Errorf("topology.Load(playground) = %+v, %v", s, err)
	}
	if _, err := topology.Load("testdata/nothing.yaml"); err == nil || err.Error() != "topology file testdata/nothing.yaml: no such file or directory: give the path of a YAML topology file" {
		t.Errorf("missing file: %v", err)
	}
	for _, f := range testutils.SpecialFiles(t) {
		// A FIFO without a writer: Load must return, not wait.
		_, err := topology.Load(f.Path)
		if err == nil || !strings.Contains(err.Error(), "topology file "+f.Path+" is a "+f.Kind) {
			t.Errorf("%s: %v", f.Path, err)
		}
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, 1024*1024+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := topology.Load(big); err == nil || !strings.Contains(err.Error(), "is larger than 1024 KiB") {
		t.Errorf("big file: %v", err)
	}
}
