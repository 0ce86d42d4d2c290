package attached

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/namespace"
)

// SocketFilters finds the socket filters called name that run on a packet
// socket in ns, bound to iface or to every interface. A socket does not
// say which filter it runs, so a filter counts as running there when one
// process holds both the socket and the program or one of its maps (a
// loader keeps them to read the counters, as samples/bpf's sockex1 does).
// The newest program comes first; each carries the pid that holds it.
func SocketFilters(ns *namespace.NS, iface, name string) ([]Program, error) {
	l, err := ns.Netlink().LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("find %s in %s: %w", iface, ns.Name, err)
	}
	ifindex := l.Attrs().Index
	var socks map[uint64]int
	err = ns.Do(func() (err error) {
		// thread-self: the namespace of this thread, which Do moved.
		socks, err = readPacketSockets("/proc/thread-self/net/packet")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("packet sockets of %s: %w", ns.Name, err)
	}
	if len(socks) == 0 {
		return nil, nil
	}
	cands, err := socketFilters(name)
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	pids, err := processes()
	if err != nil {
		return nil, err
	}
	var found []Program
	for _, pid := range pids {
		fds, err := FDs(pid)
		if err != nil {
			continue // gone, or not ours to read
		}
		bound := false
		for _, fd := range fds {
			if idx, ok := socks[fd.Socket]; ok && fd.Socket != 0 && (idx == ifindex || idx == 0) {
				bound = true
			}
		}
		if !bound {
			continue
		}
		for _, c := range cands {
			if c.heldBy(fds) {
				p := c.Program
				p.PID = pid
				found = append(found, p)
			}
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].ID > found[j].ID })
	return found, nil
}

// candidate is a socket filter with the right name, and the ids of its maps.
type candidate struct {
	Program
	mapIDs []ebpf.MapID
}

func (c candidate) heldBy(fds []FD) bool {
	for _, fd := range fds {
		if fd.ProgID == c.ID {
			return true
		}
		for _, id := range c.mapIDs {
			if fd.MapID == id {
				return true
			}
		}
	}
	return false
}

// socketFilters lists the machine's socket filter programs called name.
func socketFilters(name string) ([]candidate, error) {
	var out []candidate
	want := KernelName(name)
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list programs: %w", err)
		}
		id = next
		prog, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // unloaded since
		}
		if prog.Type() == ebpf.SocketFilter {
			if info, err := prog.Info(); err == nil && info.Name == want {
				if p, err := describeOpen(prog, id); err == nil {
					ids, _ := info.MapIDs()
					out = append(out, candidate{Program: p, mapIDs: ids})
				}
			}
		}
		prog.Close()
	}
}

// readPacketSockets reads a /proc/net/packet table: the inode of every
// packet socket and the ifindex it is bound to (0: every interface).
func readPacketSockets(path string) (map[uint64]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parsePacketSockets(f)
}

// parsePacketSockets parses the table: a header line ("sk RefCnt Type
// Proto Iface R Rmem User Inode"), then one line per socket.
func parsePacketSockets(r io.Reader) (map[uint64]int, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return nil, fmt.Errorf("packet socket table: no header: %w", errors.Join(sc.Err(), io.ErrUnexpectedEOF))
	}
	cols := strings.Fields(sc.Text())
	iface, inode := colIndex(cols, "Iface"), colIndex(cols, "Inode")
	if iface < 0 || inode < 0 {
		return nil, fmt.Errorf("packet socket table: header %q has no Iface or Inode column", sc.Text())
	}
	out := map[uint64]int{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) <= max(iface, inode) {
			continue
		}
		idx, err1 := strconv.Atoi(f[iface])
		ino, err2 := strconv.ParseUint(f[inode], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("packet socket table: bad line %q", sc.Text())
		}
		out[ino] = idx
	}
	return out, sc.Err()
}

func colIndex(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return -1
}

// processes lists the pids under /proc.
func processes() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// FD is one of a process's file descriptors that is a socket or a BPF
// object; the other fields are zero.
type FD struct {
	// Socket is the inode of a socket.
	Socket uint64
	ProgID ebpf.ProgramID
	MapID  ebpf.MapID
}

// FDs lists a process's sockets, programs and maps, from /proc/PID/fd and
// the fdinfo of its BPF objects.
func FDs(pid int) ([]FD, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []FD
	for _, e := range entries {
		target, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue // closed since
		}
		switch {
		case strings.HasPrefix(target, "socket:["):
			ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 64)
			if err == nil {
				out = append(out, FD{Socket: ino})
			}
		case target == "anon_inode:bpf-prog":
			if id, ok := fdinfoID(pid, e.Name(), "prog_id"); ok {
				out = append(out, FD{ProgID: ebpf.ProgramID(id)})
			}
		case target == "anon_inode:bpf-map":
			if id, ok := fdinfoID(pid, e.Name(), "map_id"); ok {
				out = append(out, FD{MapID: ebpf.MapID(id)})
			}
		}
	}
	return out, nil
}

// fdinfoID reads a "key:\tN" line of an fd's fdinfo.
func fdinfoID(pid int, fd, key string) (uint32, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			return uint32(n), err == nil
		}
	}
	return 0, false
}
