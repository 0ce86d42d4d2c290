package filewatch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// workspace is a source file with an include/ tree, as `xdplab init`
// writes one, and a watcher on both.
func workspace(t *testing.T) (dir, src string, w *Watcher) {
	t.Helper()
	dir = t.TempDir()
	src = filepath.Join(dir, "prog.c")
	write(t, src, "int x;\n")
	if err := os.MkdirAll(filepath.Join(dir, "include", "xdplab"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "include", "xdplab", "parse.h"), "/* parse */\n")
	w, err := New([]string{src}, []string{filepath.Join(dir, "include")}, Quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return dir, src, w
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next change, failing after a few seconds.
func next(t *testing.T, w *Watcher) Change {
	t.Helper()
	select {
	case c := <-w.Changes():
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported")
	}
	return Change{}
}

// none asserts that nothing is reported for a while: several quiet periods.
func none(t *testing.T, w *Watcher) {
	t.Helper()
	select {
	case c := <-w.Changes():
		t.Errorf("reported %+v, want nothing", c)
	case <-time.After(4 * Quiet):
	}
}

// TestSaveByRename: an editor that writes a new file and renames it over
// the source (vim, most IDEs) is seen, as one change of the source.
func TestSaveByRename(t *testing.T) {
	dir, src, w := workspace(t)
	tmp := filepath.Join(dir, ".prog.c.tmp")
	write(t, tmp, "int y;\n")
	if err := os.Rename(src, src+"~"); err != nil { // the backup
		t.Fatal(err)
	}
	if err := os.Rename(tmp, src); err != nil {
		t.Fatal(err)
	}
	if c := next(t, w); !slices.Equal(c.Files, []string{src}) || c.Err != nil {
		t.Errorf("change %+v, want %s", c, src)
	}
	none(t, w)
	// The watch is on the directory: the new file is watched as the old was.
	write(t, src, "int z;\n")
	if c := next(t, w); !slices.Equal(c.Files, []string{src}) {
		t.Errorf("change after the rename %+v, want %s", c, src)
	}
}

// TestChunkedWrite: a file written in several pieces is one change, after
// the last piece.
func TestChunkedWrite(t *testing.T) {
	_, src, w := workspace(t)
	f, err := os.OpenFile(src, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := f.WriteString("int a;\n"); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if c := next(t, w); !slices.Equal(c.Files, []string{src}) {
		t.Errorf("change %+v, want %s", c, src)
	}
	none(t, w)
}

// TestIgnored: editors' swap, backup and lock files, other files next to
// the source, a change of mode, and files under include/ that are not
// headers are no change.
func TestIgnored(t *testing.T) {
	dir, src, w := workspace(t)
	for _, name := range []string{".prog.c.swp", "prog.c~", "4913", "#prog.c#", "other.c", "prog.o", "Makefile"} {
		write(t, filepath.Join(dir, name), "x")
	}
	inc := filepath.Join(dir, "include", "xdplab")
	for _, name := range []string{".parse.h.swp", "parse.h~", "#parse.h#", ".#parse.h", "README"} {
		write(t, filepath.Join(inc, name), "x")
	}
	if err := os.Chmod(src, 0o600); err != nil {
		t.Fatal(err)
	}
	none(t, w)
}

// TestHeaders: a header under include/, in a directory made after the
// watch began too, is a change; so is a header removed.
func TestHeaders(t *testing.T) {
	dir, _, w := workspace(t)
	parse := filepath.Join(dir, "include", "xdplab", "parse.h")
	write(t, parse, "/* changed */\n")
	if c := next(t, w); !slices.Equal(c.Files, []string{parse}) {
		t.Errorf("change %+v, want %s", c, parse)
	}
	extra := filepath.Join(dir, "include", "extra")
	if err := os.Mkdir(extra, 0o755); err != nil {
		t.Fatal(err)
	}
	none(t, w) // a directory alone changes nothing a build reads
	mine := filepath.Join(extra, "mine.h")
	write(t, mine, "/* mine */\n")
	if c := next(t, w); !slices.Equal(c.Files, []string{mine}) {
		t.Errorf("change %+v, want %s", c, mine)
	}
	if err := os.Remove(parse); err != nil {
		t.Fatal(err)
	}
	if c := next(t, w); !slices.Equal(c.Files, []string{parse}) {
		t.Errorf("change %+v, want %s", c, parse)
	}
}

// TestIncludeMadeLater: a workspace whose include/ appears after the watch
// began (copied in by hand) has its headers watched from then on.
func TestIncludeMadeLater(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	write(t, src, "int x;\n")
	inc := filepath.Join(dir, "include")
	w, err := New([]string{src}, []string{inc}, Quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.Mkdir(inc, 0o755); err != nil {
		t.Fatal(err)
	}
	none(t, w)
	h := filepath.Join(inc, "a.h")
	write(t, h, "/* a */\n")
	if c := next(t, w); !slices.Equal(c.Files, []string{h}) {
		t.Errorf("change %+v, want %s", c, h)
	}
}

// TestMergedWhileBusy: bursts that end while the reader is busy with
// something else wait as one change holding them all.
func TestMergedWhileBusy(t *testing.T) {
	dir, src, w := workspace(t)
	parse := filepath.Join(dir, "include", "xdplab", "parse.h")
	write(t, src, "int b;\n")
	time.Sleep(3 * Quiet) // the first burst is over and waits for the reader
	write(t, parse, "/* b */\n")
	time.Sleep(3 * Quiet)
	if c := next(t, w); !slices.Equal(c.Files, []string{parse, src}) {
		t.Errorf("change %+v, want both files in one", c)
	}
	none(t, w)
}
