package traffic

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/xdplab/xdplab/internal/namespace"
)

// ErrPortInUse marks a listen that failed because another socket holds the
// port: the environment's fault, which a check reports as such.
var ErrPortInUse = errors.New("port in use")

// PortInUseError names the processes holding a port a listener needed, so
// the learner can stop them.
type PortInUseError struct {
	Proto   string // tcp or udp
	Addr    netip.AddrPort
	NS      string
	Holders []Holder
	Err     error
}

// Holder is a process with a socket on the port.
type Holder struct {
	PID  int
	Comm string
}

func (e *PortInUseError) Error() string {
	where := fmt.Sprintf("%s port %d in netns %s", e.Proto, e.Addr.Port(), e.NS)
	if len(e.Holders) == 0 {
		return where + " is taken by a socket that no process holds (one closing?): wait a moment and re-run"
	}
	var who []string
	for _, h := range e.Holders {
		who = append(who, fmt.Sprintf("pid %d (%s)", h.PID, h.Comm))
	}
	it := "it"
	if len(e.Holders) > 1 {
		it = "them"
	}
	return fmt.Sprintf("%s is taken by %s: stop %s and re-run", where, strings.Join(who, ", "), it)
}

func (e *PortInUseError) Is(target error) bool { return target == ErrPortInUse }
func (e *PortInUseError) Unwrap() error        { return e.Err }

// listenError explains a failed listen: EADDRINUSE becomes a PortInUseError
// naming who holds the port.
func listenError(ns *namespace.NS, proto string, addr netip.AddrPort, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen %s %s in %s: %w", proto, addr, ns.Name, err)
	}
	holders, herr := portHolders(ns, proto, addr)
	if herr != nil {
		err = errors.Join(err, fmt.Errorf("find who holds it: %w", herr))
	}
	return &PortInUseError{Proto: proto, Addr: addr, NS: ns.Name, Holders: holders, Err: err}
}

// portHolders finds the processes with a socket bound to addr's port inside
// ns: the socket inodes come from the namespace's own /proc/net tables, read
// from a thread inside it, the processes from their fd links.
func portHolders(ns *namespace.NS, proto string, addr netip.AddrPort) ([]Holder, error) {
	var inodes map[string]bool
	err := ns.Do(func() error {
		var err error
		inodes, err = socketInodes(proto, addr)
		return err
	})
	if err != nil || len(inodes) == 0 {
		return nil, err
	}
	return socketOwners(inodes)
}

// socketInodes reads /proc/thread-self/net/<proto>{,6}: the tables of the
// calling thread's namespace (/proc/self/net would show the main thread's).
func socketInodes(proto string, addr netip.AddrPort) (map[string]bool, error) {
	inodes := map[string]bool{}
	for _, table := range []string{proto, proto + "6"} {
		f, err := os.Open("/proc/thread-self/net/" + table)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 in this kernel
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[9] == "0" {
				continue
			}
			local, ok := parseProcAddr(fields[1])
			if ok && local.Port() == addr.Port() && overlaps(local.Addr(), addr.Addr()) {
				inodes[fields[9]] = true
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read /proc/net/%s: %w", table, err)
		}
	}
	return inodes, nil
}

// parseProcAddr reads "0200A8C0:22B8": the address as the kernel's 32-bit
// words in host byte order, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), true
}

// overlaps reports whether sockets bound to a and b clash: the same address,
// or either one the wildcard.
func overlaps(a, b netip.Addr) bool {
	return a == b || a.IsUnspecified() || b.IsUnspecified()
}

// socketOwners scans every process's fds for links to the sockets.
func socketOwners(inodes map[string]bool) ([]Holder, error) {
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	var holders []Holder
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(p + "/fd")
		if err != nil {
			continue // gone meanwhile, or a kernel thread
		}
		for _, fd := range fds {
			target, err := os.Readlink(p + "/fd/" + fd.Name())
			inode, ok := strings.CutPrefix(target, "socket:[")
			if err != nil || !ok || !inodes[strings.TrimSuffix(inode, "]")] {
				continue
			}
			comm, _ := os.ReadFile(p + "/comm")
			holders = append(holders, Holder{PID: pid, Comm: strings.TrimSpace(string(comm))})
			break
		}
	}
	return holders, nil
}
