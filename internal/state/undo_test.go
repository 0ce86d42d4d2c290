package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestUndoRecords: records sit next to the state files without being taken
// for labs, come back oldest first, a damaged one comes back with its lab
// and kind and an error, and removing them is idempotent.
func TestUndoRecords(t *testing.T) {
	s := Store{Dir: t.TempDir(), Instance: "i1"}
	if err := s.Write(Lab{Lab: "basic_firewall", Phase: PhaseUp}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for _, u := range []Undo{
		{Lab: "redirect", Kind: "devmap", Created: t0.Add(time.Second), Data: json.RawMessage(`{"slots":[1,2]}`)},
		{Lab: "basic_firewall", Kind: "check", Created: t0, Data: json.RawMessage(`{"index":15}`)},
	} {
		if err := s.WriteUndo(u); err != nil {
			t.Fatal(err)
		}
	}
	if labs, _ := s.Labs(); len(labs) != 1 || labs[0] != "basic_firewall" {
		t.Errorf("Labs = %v, want only basic_firewall", labs)
	}
	got, err := s.Undos()
	if err != nil || len(got) != 2 || got[0].Lab != "basic_firewall" || got[1].Kind != "devmap" {
		t.Fatalf("Undos = %+v, %v", got, err)
	}
	var data bytes.Buffer
	if err := json.Compact(&data, got[1].Data); err != nil || data.String() != `{"slots":[1,2]}` {
		t.Errorf("data read back = %q, %v", data.String(), err)
	}

	os.WriteFile(s.UndoPath("redirect", "devmap"), []byte("{trunc"), 0o644)
	got, _ = s.Undos()
	if len(got) != 2 || got[0].Lab != "redirect" || got[0].Kind != "devmap" || !errors.Is(got[0].Err, ErrCorrupt) {
		t.Errorf("damaged record: %+v", got)
	}

	for _, bad := range []Undo{{Lab: "a.b", Kind: "check"}, {Lab: "lab", Kind: ""}, {Lab: "../x", Kind: "k"}} {
		if err := s.WriteUndo(bad); err == nil || !strings.Contains(err.Error(), "plain names") {
			t.Errorf("WriteUndo(%+v) = %v", bad, err)
		}
	}

	if err := s.RemoveUndos("basic_firewall"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Undos(); len(got) != 1 || got[0].Lab != "redirect" {
		t.Errorf("after RemoveUndos(basic_firewall): %+v", got)
	}
	if err := s.RemoveUndo("redirect", "devmap"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUndo("redirect", "devmap"); err != nil {
		t.Errorf("second RemoveUndo: %v", err)
	}
	if err := s.RemoveUndos(""); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(s.dir())
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want only the lab's state", len(entries))
	}
}
