// Package filewatch tells when chosen files change, once per burst of
// writes, as editors and build tools save them.
package filewatch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Quiet is how long a burst of changes must have been silent before it is
// reported: an editor's save is several events (a write in chunks, a
// temporary file renamed over the original, a backup), and a build should
// start once, after the last of them.
const Quiet = 150 * time.Millisecond

// Change is one burst of changes.
type Change struct {
	// Files are the files that changed, sorted.
	Files []string
	// Err is a fault of the watcher itself (the kernel's event queue
	// overflowed): changes may have been missed, so the burst is reported
	// whether or not Files names any.
	Err error
}

// Watcher reports changes to a set of files and to the C headers under a
// set of directories. It watches directories, not files: an editor that
// saves by renaming a new file over the old one would leave a watch on the
// file itself watching the old, unlinked one.
type Watcher struct {
	fw      *fsnotify.Watcher
	files   map[string]bool
	trees   []string
	quiet   time.Duration
	changes chan Change
	done    chan struct{}
	wg      sync.WaitGroup
}

// New watches files, and every header (*.h) under the directories of
// headers and their subdirectories; a header directory that does not exist
// is watched from when it appears next to a watched file. quiet is Quiet
// unless a test wants it otherwise. Paths are made absolute.
func New(files, headers []string, quiet time.Duration) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch files: %w", err)
	}
	w := &Watcher{fw: fw, files: map[string]bool{}, quiet: quiet, changes: make(chan Change), done: make(chan struct{})}
	fail := func(err error) (*Watcher, error) {
		fw.Close()
		return nil, err
	}
	dirs := map[string]bool{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fail(err)
		}
		w.files[abs] = true
		dirs[filepath.Dir(abs)] = true
	}
	for _, d := range headers {
		abs, err := filepath.Abs(d)
		if err != nil {
			return fail(err)
		}
		w.trees = append(w.trees, abs)
	}
	for d := range dirs {
		if err := fw.Add(d); err != nil {
			return fail(fmt.Errorf("watch %s: %w", d, err))
		}
	}
	for _, t := range w.trees {
		if err := w.addTree(t); err != nil {
			return fail(err)
		}
	}
	w.wg.Add(1)
	go w.run()
	return w, nil
}

// Changes delivers one Change per burst. A burst that ends while the
// previous one is still unread is merged into it, so a reader busy with one
// change finds one more waiting, never a queue of them.
func (w *Watcher) Changes() <-chan Change { return w.changes }

// Close stops watching.
func (w *Watcher) Close() error {
	close(w.done)
	err := w.fw.Close()
	w.wg.Wait()
	return err
}

// addTree watches dir and the directories under it; one that is not there
// (yet) is no error.
func (w *Watcher) addTree(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := w.fw.Add(p); err != nil {
				return fmt.Errorf("watch %s: %w", p, err)
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// inTree reports whether p is a header tree or lies under one.
func (w *Watcher) inTree(p string) bool {
	for _, t := range w.trees {
		if p == t || strings.HasPrefix(p, t+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// relevant reports whether an event on p is a change to watch: one of the
// files, or a header under a tree. Editors' swap, backup and lock files
// (.x.h.swp, x.h~, #x.h#, .#x.h) are not headers.
func (w *Watcher) relevant(p string) bool {
	if w.files[p] {
		return true
	}
	base := filepath.Base(p)
	return w.inTree(p) && strings.HasSuffix(base, ".h") && !strings.HasPrefix(base, ".") && !strings.HasPrefix(base, "#")
}

func (w *Watcher) run() {
	defer w.wg.Done()
	pending := map[string]bool{}
	var fault error
	quiet := time.NewTimer(w.quiet)
	quiet.Stop()
	var ready *Change // a finished burst the reader has not taken
	for {
		var out chan Change
		var next Change
		if ready != nil {
			out, next = w.changes, *ready
		}
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) && w.inTree(ev.Name) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					// A header directory made after we started: the
					// headers written into it count too.
					w.addTree(ev.Name)
					continue
				}
			}
			// A change of mode (touch, chmod) changes nothing a build reads.
			if ev.Op == fsnotify.Chmod || !w.relevant(ev.Name) {
				continue
			}
			pending[ev.Name] = true
			quiet.Reset(w.quiet)
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			fault = err
			quiet.Reset(w.quiet)
		case <-quiet.C:
			if len(pending) == 0 && fault == nil {
				continue
			}
			c := Change{Err: fault}
			if ready != nil {
				// The reader is still busy with the last burst: one change
				// it will find, holding both.
				c.Err = errors.Join(ready.Err, fault)
				for _, f := range ready.Files {
					pending[f] = true
				}
			}
			for f := range pending {
				c.Files = append(c.Files, f)
			}
			slices.Sort(c.Files)
			ready, pending, fault = &c, map[string]bool{}, nil
		case out <- next:
			ready = nil
		}
	}
}
