package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestWriteReadRemove(t *testing.T) {
	s := Store{Dir: t.TempDir(), Instance: "i1"}
	rec := Lab{Instance: "i1", Lab: "packet_counter", Phase: PhaseUp, Mode: "generic", Namespaces: []string{"i1-packet_counter-host"}}
	if err := s.Write(rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read("packet_counter")
	if err != nil || got.Phase != PhaseUp || got.Namespaces[0] != "i1-packet_counter-host" {
		t.Fatalf("Read = %+v, %v", got, err)
	}
	labs, _ := s.Labs()
	if len(labs) != 1 || labs[0] != "packet_counter" {
		t.Fatalf("Labs = %v", labs)
	}
	// No temporary files stay behind from the atomic write.
	entries, _ := os.ReadDir(filepath.Join(s.Dir, "i1"))
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want 1", len(entries))
	}
	if err := s.Remove("packet_counter"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("packet_counter"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := s.Read("packet_counter"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read after remove: %v", err)
	}
	if err := s.RemoveIfEmpty(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "i1")); !os.IsNotExist(err) {
		t.Errorf("instance dir still there: %v", err)
	}
}

func TestReadCorrupt(t *testing.T) {
	s := Store{Dir: t.TempDir(), Instance: "i1"}
	os.MkdirAll(filepath.Join(s.Dir, "i1"), 0o755)
	os.WriteFile(s.Path("x"), []byte("{not json"), 0o644)
	if _, err := s.Read("x"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read corrupt = %v, want ErrCorrupt", err)
	}
}

func TestLockSerializes(t *testing.T) {
	s := Store{Dir: t.TempDir(), Instance: "i1"}
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.Lock(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			// The holder may delete the lock file, as `down` does; waiters must
			// then lock the new file, not the deleted one.
			s.RemoveIfEmpty()
			l.Unlock()
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once", maxInside)
	}
}

func TestLockTimesOut(t *testing.T) {
	s := Store{Dir: t.TempDir(), Instance: "i1"}
	l, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Lock = %v, want ErrBusy", err)
	}
}
