// Package namespace creates, enters and deletes named network namespaces the way
// iproute2 does (/run/netns/<name>), without ever changing the caller's own thread.
package namespace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Dir is where named namespaces live, shared with `ip netns`.
const Dir = "/run/netns"

// NS is an open named network namespace.
type NS struct {
	Name   string
	handle netns.NsHandle
	nl     *netlink.Handle
}

// Path is the bind-mount file that keeps the namespace alive.
func Path(name string) string { return filepath.Join(Dir, name) }

// Exists reports whether anything has that name in Dir: a namespace, or a
// file or link that keeps the name taken. It never follows a link.
func Exists(name string) bool {
	_, err := os.Lstat(Path(name))
	return err == nil
}

// Create makes a new named namespace whose lo carries mark as its alias (no
// alias when mark is ""). It runs on a throw-away OS thread: unshare moves the
// calling thread into the new namespace, and we never want a Go scheduler
// thread left there.
//
// The mark is set before the bind mount, so a namespace that has the name is
// marked at every moment a crash can come: killed earlier, the name is only an
// empty placeholder file (see Examine).
func Create(name, mark string) (*NS, error) {
	if err := prepareDir(); err != nil {
		return nil, err
	}
	p := Path(name)
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o444)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create namespace %s: already exists", name)
		}
		return nil, fmt.Errorf("create namespace %s: %w", name, err)
	}
	f.Close()

	errc := make(chan error, 1)
	go func() {
		// No UnlockOSThread: the goroutine exits with the thread locked, so the
		// runtime destroys the thread instead of reusing it in the wrong namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if mark != "" {
			if err := setMark(mark); err != nil {
				errc <- err
				return
			}
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind mount: %w", err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(p)
		return nil, fmt.Errorf("create namespace %s: %w", name, err)
	}
	ns, err := Open(name)
	if err != nil {
		Delete(name)
		return nil, err
	}
	return ns, nil
}

// setMark writes mark as the alias of lo in the calling thread's namespace.
func setMark(mark string) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink in the new namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetAlias(lo, mark); err != nil {
		return fmt.Errorf("mark lo with %q: %w", mark, err)
	}
	return nil
}

// prepareDir makes /run/netns a shared mount point of its own, as iproute2's
// `ip netns add` does. Otherwise the first `ip netns add` after ours would
// bind-mount the directory over itself and hide our namespace mounts under
// it, where nothing can unmount them ("device or resource busy").
func prepareDir() error {
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", Dir, err)
	}
	for attempt := 0; ; attempt++ {
		err := unix.Mount("", Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || attempt > 0 {
			return fmt.Errorf("make %s a shared mount: %w", Dir, err)
		}
		// EINVAL: not a mount point yet. Bind it onto itself (with whatever is
		// mounted below it) and try again.
		if err := unix.Mount(Dir, Dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s onto itself: %w", Dir, err)
		}
	}
}

// Open opens an existing named namespace. A name that is a symbolic link is
// refused: it would lead into a namespace that is not the one of that name.
func Open(name string) (*NS, error) {
	fd, err := unix.Open(Path(name), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil, fmt.Errorf("open namespace %s: %w", name, ErrNotFound)
		case errors.Is(err, unix.ELOOP):
			return nil, fmt.Errorf("open namespace %s: %s is a symbolic link, not a namespace", name, Path(name))
		}
		return nil, fmt.Errorf("open namespace %s: %w", name, err)
	}
	return openFd(name, fd)
}

// openFd wraps an open namespace file; it takes fd over.
func openFd(name string, fd int) (*NS, error) {
	h := netns.NsHandle(fd)
	// Only the route family (links, addresses, routes, neighbours): each
	// family's socket costs two setns calls to open, a millisecond or so,
	// and xdplab opens namespaces in every command.
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netlink handle for namespace %s: %w", name, err)
	}
	return &NS{Name: name, handle: h, nl: nl}, nil
}

// Mark is the alias of the namespace's lo, where Create put its mark.
func (ns *NS) Mark() (string, error) {
	lo, err := ns.nl.LinkByName("lo")
	if err != nil {
		return "", fmt.Errorf("lo of namespace %s: %w", ns.Name, err)
	}
	return lo.Attrs().Alias, nil
}

// ErrNotFound is returned when a named namespace does not exist.
var ErrNotFound = errors.New("namespace does not exist")

// Netlink is the netlink handle bound to this namespace: link, address, route
// and neighbour calls through it act inside the namespace from any thread.
func (ns *NS) Netlink() *netlink.Handle { return ns.nl }

// Fd is the namespace file descriptor, e.g. for a veth peer's namespace.
func (ns *NS) Fd() int { return int(ns.handle) }

// Close releases the handles; the namespace itself stays.
func (ns *NS) Close() error {
	if ns == nil {
		return nil
	}
	ns.nl.Close()
	return ns.handle.Close()
}

// Do runs fn on an OS thread that is inside the namespace. Sockets, sysctls,
// XDP attachment and DEVMAP updates act in the calling thread's namespace, so
// they go through here. If the thread cannot be switched back, it is thrown away.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("get current namespace: %w", err)
			return // thread stays locked and is discarded
		}
		defer orig.Close()
		if err := netns.Set(ns.handle); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.Name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime will kill it on exit.
			errc <- errors.Join(ferr, fmt.Errorf("leave namespace %s: %w", ns.Name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Exec replaces the process with the program at path, run inside the
// namespace with args (args[0] included) and env. execve starts the new
// image in the namespace of the thread that calls it, so it runs on a
// thread of its own that enters the namespace first. Exec returns only when
// something failed; that thread is then thrown away, like Do's.
func (ns *NS) Exec(path string, args, env []string) error {
	errc := make(chan error, 1)
	go func() {
		// No UnlockOSThread: a thread left in the namespace must end with
		// this goroutine.
		runtime.LockOSThread()
		if err := netns.Set(ns.handle); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.Name, err)
			return
		}
		errc <- fmt.Errorf("exec %s in namespace %s: %w", path, ns.Name, unix.Exec(path, args, env))
	}()
	return <-errc
}

// Sysctl writes a value under /proc/sys from inside the namespace. key uses
// dots or slashes: "net.ipv4.ip_forward".
func (ns *NS) Sysctl(key, value string) error {
	return ns.Do(func() error { return WriteSysctl(key, value) })
}

// ReadSysctl reads a value under /proc/sys from inside the namespace.
func (ns *NS) ReadSysctl(key string) (string, error) {
	var v string
	err := ns.Do(func() error {
		b, err := os.ReadFile(sysctlPath(key))
		if err != nil {
			return fmt.Errorf("read sysctl %s in %s: %w", key, ns.Name, err)
		}
		v = strings.TrimSpace(string(b))
		return nil
	})
	return v, err
}

func sysctlPath(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

// WriteSysctl writes a /proc/sys value in the calling thread's namespace; call
// it inside Do.
func WriteSysctl(key, value string) error {
	if err := os.WriteFile(sysctlPath(key), []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// Delete unmounts and removes a named namespace. Deleting one that does not
// exist is not an error, so teardown is idempotent. It never follows a link:
// a link of that name is removed, the namespace it points to is not touched.
// Delete does not judge ownership; callers decide what is theirs to delete.
func Delete(name string) error {
	p := Path(name)
	if err := unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount namespace %s: %w", name, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove namespace %s: %w", name, err)
	}
	return nil
}

// List returns the names of the named namespaces that start with prefix.
func List(prefix string) ([]string, error) {
	entries, err := os.ReadDir(Dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
