package namespace

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Kind is what a name under Dir turned out to be.
type Kind int

const (
	// Missing: nothing has the name.
	Missing Kind = iota
	// Mounted: a network namespace is mounted on the name.
	Mounted
	// Placeholder: an empty regular file with nothing mounted on it, what a
	// Create (ours or `ip netns add`) leaves when it dies before its mount.
	Placeholder
	// Other: a symbolic link, a directory, a namespace of another type, any
	// other file. Never a namespace of that name.
	Other
)

func (k Kind) String() string {
	return [...]string{"missing", "namespace", "placeholder", "other"}[k]
}

// Entry is one name under Dir as it was found, links not followed.
type Entry struct {
	Name string
	Kind Kind
	// Link is set when the name is a symbolic link (Kind Other).
	Link bool
	// Mark is the alias of lo in a Mounted namespace: what Create marked it with.
	Mark string
}

// Examine looks at a name under Dir without following it if it is a link, and
// reads the mark of the namespace mounted there. The error is for failures to
// look (not root, say), not for what was found.
func Examine(name string) (Entry, error) {
	e := Entry{Name: name}
	// O_PATH opens the link itself, or the file without any of the side
	// effects opening a device or a FIFO would have.
	fd, err := unix.Open(Path(name), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return e, nil
	}
	if err != nil {
		return e, fmt.Errorf("examine %s: %w", Path(name), err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return e, fmt.Errorf("examine %s: %w", Path(name), err)
	}
	e.Kind = Other
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		e.Link = true
		return e, nil
	default:
		return e, nil
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return e, fmt.Errorf("examine %s: %w", Path(name), err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		if st.Size == 0 && !mountRoot(fd) {
			e.Kind = Placeholder
		}
		return e, nil
	}
	// Reopen through the O_PATH descriptor, so it is the very file looked at
	// above, to read the mark inside.
	rfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return e, fmt.Errorf("open %s: %w", Path(name), err)
	}
	if t, err := unix.IoctlRetInt(rfd, unix.NS_GET_NSTYPE); err != nil || t != unix.CLONE_NEWNET {
		unix.Close(rfd)
		return e, nil // a namespace of another type
	}
	ns, err := openFd(name, rfd)
	if err != nil {
		return e, err
	}
	defer ns.Close()
	e.Kind = Mounted
	e.Mark, err = ns.Mark()
	return e, err
}

// mountRoot reports whether something is mounted on the file, as far as the
// kernel says (statx knows since Linux 5.8; older ones say no).
func mountRoot(fd int) bool {
	var stx unix.Statx_t
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS, &stx) != nil {
		return false
	}
	return stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}
