package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// TestLinksRefused: a link as the state root, the instance's directory, the
// lock or a state file is refused with ErrLink naming it, and what it points
// to stays as it was.
func TestLinksRefused(t *testing.T) {
	rec := Lab{Instance: "i1", Lab: "x", Phase: PhaseUp}
	for _, c := range []struct {
		name string
		link func(s Store, target string) string // makes the link, returns its path
	}{
		{"root", func(s Store, target string) string {
			os.Symlink(target, s.Dir)
			return s.Dir
		}},
		{"instance dir", func(s Store, target string) string {
			os.Mkdir(s.Dir, 0o755)
			os.Symlink(target, s.dir())
			return s.dir()
		}},
		{"lock", func(s Store, target string) string {
			os.MkdirAll(s.dir(), 0o755)
			os.Symlink(filepath.Join(target, "victim"), s.lockPath())
			return s.lockPath()
		}},
		{"state file", func(s Store, target string) string {
			os.MkdirAll(s.dir(), 0o755)
			os.Symlink(filepath.Join(target, "victim"), s.Path("x"))
			return s.Path("x")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			target := filepath.Join(base, "target")
			os.Mkdir(target, 0o755)
			victim := filepath.Join(target, "victim")
			os.WriteFile(victim, []byte("precious\n"), 0o644)
			s := Store{Dir: filepath.Join(base, "state"), Instance: "i1"}
			link := c.link(s, target)

			// Every call that goes through the link refuses.
			var errs []error
			if c.name != "state file" {
				_, err := s.Lock(context.Background())
				errs = append(errs, err)
				_, _, err = s.Peek()
				errs = append(errs, err)
			}
			if c.name != "lock" {
				errs = append(errs, s.Write(rec))
				_, err := s.Read("x")
				errs = append(errs, err)
			}
			if c.name == "root" || c.name == "instance dir" {
				_, err := s.Labs()
				errs = append(errs, err)
				errs = append(errs, s.Remove("x"))
			}
			for i, err := range errs {
				if !errors.Is(err, ErrLink) || !strings.Contains(err.Error(), link+" is a symbolic link") || !strings.Contains(err.Error(), "rm "+link) {
					t.Errorf("call %d: %v, want ErrLink naming %s", i, err, link)
				}
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("the link's target changed: %q", b)
			}
			if entries, _ := os.ReadDir(target); len(entries) != 1 {
				t.Errorf("something was created where the link points: %v", entries)
			}
		})
	}
}

// TestPeek: a reader's shared hold sees a command that holds the instance,
// with its pid, and holds nothing then.
func TestPeek(t *testing.T) {
	s := Store{Dir: t.TempDir(), Instance: "i1"}
	l, busy, err := s.Peek()
	if err != nil || busy != "" {
		t.Fatalf("Peek with no lock file = %q, %v", busy, err)
	}
	l.Unlock()
	held, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l, busy, err = s.Peek()
	if err != nil || busy != strconv.Itoa(os.Getpid()) {
		t.Fatalf("Peek while locked = %q, %v; want our pid", busy, err)
	}
	l.Unlock()
	held.Unlock()
	l, busy, err = s.Peek()
	if err != nil || busy != "" {
		t.Fatalf("Peek after unlock = %q, %v", busy, err)
	}
	// While the reader holds, a command waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx); !errors.Is(err, ErrBusy) {
		t.Errorf("Lock during Peek = %v, want ErrBusy", err)
	}
	l.Unlock()
}

// TestInstancesShareTheRoot: instances come and go at the same time, as in a
// class, and the last one out removes the shared state root. An instance
// that starts at that moment must not fail because the root went from under
// it.
func TestInstancesShareTheRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "xdplab")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := Store{Dir: root, Instance: "i" + strconv.Itoa(i)}
			for range 300 {
				err := func() error {
					l, err := s.Lock(context.Background())
					if err != nil {
						return err
					}
					defer l.Unlock()
					// As a command that leaves nothing up (down) ends.
					return s.RemoveIfEmpty()
				}()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d instances failed, first: %v", len(errs), errs[0])
	}
}

// TestInstances lists instance directories only: a stray file or a link in
// the state directory is no instance.
func TestInstances(t *testing.T) {
	dir := t.TempDir()
	if got, err := Instances(filepath.Join(dir, "none")); err != nil || len(got) != 0 {
		t.Fatalf("no state dir: %v, %v", got, err)
	}
	for _, inst := range []string{"bob", "alice"} {
		if err := (Store{Dir: dir, Instance: inst}).Write(Lab{Instance: inst, Lab: "packet_counter"}); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "stray"), nil, 0o644)
	os.Symlink(t.TempDir(), filepath.Join(dir, "link"))
	got, err := Instances(dir)
	if err != nil || strings.Join(got, ",") != "alice,bob" {
		t.Errorf("Instances = %v, %v; want alice,bob", got, err)
	}
	link := filepath.Join(t.TempDir(), "run")
	os.Symlink(dir, link)
	if _, err := Instances(link); !errors.Is(err, ErrLink) {
		t.Errorf("Instances through a link = %v, want ErrLink", err)
	}
}
