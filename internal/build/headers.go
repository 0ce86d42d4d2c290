package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// headersSum names the embedded headers by content, so a cache directory
// holds one version of them and an xdplab with other headers uses another.
var headersSum = sync.OnceValue(func() string {
	h := sha256.New()
	fs.WalkDir(Headers(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(Headers(), p)
			fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// headerDir returns a directory holding the embedded headers, for -I.
//
// It is a cache, $TMPDIR/xdplab-UID/include-SUM, named by the user and the
// headers' content: a fixed path, so that two builds of the same source
// write the same debug info, and a second build writes nothing. It is not
// under the user's home: under sudo, HOME may still be the learner's, and
// root's files would be left there. A directory found there is used only
// if it is a real directory of this user that no one else can write into
// (another user of /tmp could have made it first); it is complete, because
// it is only ever put in place whole, by a rename. When it cannot be used,
// the headers go to a directory of this build only, which cleanup removes.
func headerDir() (dir string, cleanup func(), err error) {
	base := filepath.Join(os.TempDir(), fmt.Sprintf("xdplab-%d", os.Geteuid()))
	if dir, err := cached(base, "include-"+headersSum()); err == nil {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "xdplab-include-")
	if err != nil {
		return "", nil, fmt.Errorf("write xdplab's headers: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	if err := writeHeaders(tmp); err != nil {
		cleanup()
		return "", nil, err
	}
	return tmp, cleanup, nil
}

// cached returns base/name, creating it if need be.
func cached(base, name string) (string, error) {
	dir := filepath.Join(base, name)
	if err := private(dir); err == nil {
		return dir, nil
	}
	if err := os.Mkdir(base, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if err := private(base); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(base, name+".new-")
	if err != nil {
		return "", err
	}
	if err := writeHeaders(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	// Another build may have put it there meanwhile: theirs is as good.
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
	}
	return dir, private(dir)
}

// private checks that dir is a directory (not a link to one) owned by this
// user and writable by no one else.
func private(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s belongs to someone else", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by others", dir)
	}
	return nil
}

func writeHeaders(dir string) error {
	err := fs.WalkDir(Headers(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.Mkdir(target, 0o755)
		}
		b, err := fs.ReadFile(Headers(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("write xdplab's headers: %w", err)
	}
	return nil
}
