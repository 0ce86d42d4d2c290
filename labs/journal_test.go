package labs_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/labtest"
)

// TestUndoRecordOfAGoneLab: a record whose lab is no longer there (its
// namespaces went with a `down` that was killed before it deleted the
// record) is dropped by the next command, which goes on.
func TestUndoRecordOfAGoneLab(t *testing.T) {
	testutils.RequirePrivileged(t)
	r := labtest.Runner(t)
	st := state.Store{Dir: state.DefaultDir, Instance: r.Instance}
	err := st.WriteUndo(state.Undo{Lab: "basic_firewall", Kind: "check", Created: time.Now(),
		Data: json.RawMessage(`{"host_addr":"198.18.0.1/30","node1_addr":"198.18.0.2/30","rule":"198.18.0.1/32","index":15,"counter":[0]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Up(context.Background(), "packet_counter", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.UndoPath("basic_firewall", "check")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record of a lab that is not up is still there: %v", err)
	}
	if _, err := r.Down(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedUndoRecord: a record damaged by hand stops every command but
// down, with the cause and the command that fixes it; down removes the lab
// and leaves no record behind.
func TestDamagedUndoRecord(t *testing.T) {
	testutils.RequirePrivileged(t)
	ctx := context.Background()
	r := labtest.Runner(t)
	if err := r.Up(ctx, "basic_firewall", labs.Options{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(state.DefaultDir, r.Instance, "basic_firewall.check.undo")
	if err := os.WriteFile(path, []byte(`{"lab": "basic_fire`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.Check(ctx, "basic_firewall")
	for _, want := range []string{
		"an interrupted command left a temporary change in basic_firewall that could not be taken back",
		"corrupt state file " + path,
		"`xdplab down basic_firewall --instance " + r.Instance + "` removes the lab and the change with it",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check = %v, want an error containing %q", err, want)
		}
	}
	if !errors.Is(err, labs.ErrEnvironment) {
		t.Errorf("check error is not an environment error: %v", err)
	}
	if removed, err := r.Down(ctx, "basic_firewall"); err != nil || len(removed) != 1 {
		t.Fatalf("down = %v, %v", removed, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("down left the record: %v", err)
	}
}
