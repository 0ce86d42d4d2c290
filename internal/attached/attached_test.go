package attached

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
	"github.com/xdplab/xdplab/internal/testutils"
)

func TestParsePacketSockets(t *testing.T) {
	table := "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n" +
		"ffff9a0c1b2c3000 3      3    0003   1     1 0      0      81234\n" +
		"ffff9a0c1b2c4000 3      3    0003   0     1 0      0      81299\n"
	got, err := parsePacketSockets(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[81234] != 1 || got[81299] != 0 {
		t.Errorf("got %v, want inode 81234 on ifindex 1 and 81299 on every interface", got)
	}
	for _, bad := range []struct{ table, want string }{
		{"", "no header"},
		{"sk RefCnt Type\n", `has no Iface or Inode column`},
		{"sk RefCnt Type Proto Iface R Rmem User Inode\nffff 3 3 0003 lo 1 0 0 81234\n", "bad line"},
	} {
		if _, err := parsePacketSockets(strings.NewReader(bad.table)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("table %q: error %v, want one saying %q", bad.table, err, bad.want)
		}
	}
}

func TestKernelName(t *testing.T) {
	if got := KernelName("a_map_with_a_long_name"); got != "a_map_with_a_lo" {
		t.Errorf("KernelName = %q, want the 15 bytes the kernel keeps", got)
	}
	p := Program{Maps: []string{"a_map_with_a_lo"}}
	if !p.HasMap("a_map_with_a_long_name") {
		t.Error("a long map name is not found by its full name")
	}
}

// testNS is a namespace of the test's own instance, deleted at the end.
func testNS(t *testing.T) *namespace.NS {
	t.Helper()
	testutils.RequirePrivileged(t)
	name := testutils.Instance(t) + "-attached-node1"
	ns, err := namespace.Create(name, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Close()
		if err := namespace.Delete(name); err != nil {
			t.Error(err)
		}
	})
	lo, err := ns.Netlink().LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Netlink().LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	return ns
}

// program loads a program of the type, named name, that uses a map named
// mapName and returns retval.
func program(t *testing.T, typ ebpf.ProgramType, name, mapName string, retval int32) (*ebpf.Program, ebpf.ProgramID) {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: mapName, Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close() // the program keeps it
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: name, Type: typ, License: "GPL",
		Instructions: asm.Instructions{
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Imm(asm.R0, retval),
			asm.Return(),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	return prog, id
}

func TestXDPAndMaps(t *testing.T) {
	ns := testNS(t)
	if _, ok, err := XDP(ns, "lo"); err != nil || ok {
		t.Fatalf("XDP on a bare lo = %v, %v; want nothing", ok, err)
	}
	if _, _, err := XDP(ns, "veth9"); err == nil || !strings.Contains(err.Error(), "find veth9 in "+ns.Name) {
		t.Errorf("XDP on a missing interface: %v", err)
	}
	prog, id := program(t, ebpf.XDP, "packet_count", "protocols", 2)
	var l link.Link
	err := ns.Do(func() (err error) {
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: 1, Flags: link.XDPGenericMode})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := XDP(ns, "lo")
	if err != nil || !ok {
		t.Fatalf("XDP = %v, %v; want the attached program", ok, err)
	}
	if p.ID != id || p.Name != "packet_count" || p.Mode != "generic" || !p.HasMap("protocols") || p.Tag == "" {
		t.Errorf("XDP = %+v, want id %d, packet_count, generic, map protocols, a tag", p, id)
	}
	if got := p.String(); got != fmt.Sprintf("packet_count id %d (generic mode)", id) {
		t.Errorf("String = %q", got)
	}
	m, err := Map(id, "protocols")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := m.Info(); err != nil || info.Name != "protocols" {
		t.Errorf("Map opened %v, %v", info, err)
	}
	m.Close()
	_, err = Map(id, "perfmap")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "has no map named perfmap (its maps: protocols)") {
		t.Errorf("Map of a name the program lacks: %v", err)
	}
	l.Close()
	if _, ok, err := XDP(ns, "lo"); err != nil || ok {
		t.Errorf("XDP after detach = %v, %v; want nothing", ok, err)
	}
	prog.Close()
	if _, err := Map(id, "protocols"); !errors.Is(err, ErrGone) {
		t.Errorf("Map of an unloaded program: %v, want ErrGone", err)
	}
}

func TestSocketFilters(t *testing.T) {
	ns := testNS(t)
	other := testNS(t)
	prog, id := program(t, ebpf.SocketFilter, "bpf_prog1", "my_map", 0)
	if found, err := SocketFilters(ns, "lo", "bpf_prog1"); err != nil || len(found) != 0 {
		t.Fatalf("before any socket: %v, %v", found, err)
	}
	var fd int
	err := ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: 1}); err != nil {
			return err
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, prog.FD())
	})
	if err != nil {
		t.Fatal(err)
	}
	found, err := SocketFilters(ns, "lo", "bpf_prog1")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].ID != id || found[0].PID != os.Getpid() || !found[0].HasMap("my_map") {
		t.Errorf("found %+v, want program %d held by this process (%d) with my_map", found, id, os.Getpid())
	}
	// The same process, but no packet socket in that namespace.
	if found, err := SocketFilters(other, "lo", "bpf_prog1"); err != nil || len(found) != 0 {
		t.Errorf("in a namespace without the socket: %v, %v", found, err)
	}
	// Another name.
	if found, err := SocketFilters(ns, "lo", "bpf_prog2"); err != nil || len(found) != 0 {
		t.Errorf("by another name: %v, %v", found, err)
	}
	unix.Close(fd)
	if found, err := SocketFilters(ns, "lo", "bpf_prog1"); err != nil || len(found) != 0 {
		t.Errorf("after the socket closed: %v, %v", found, err)
	}
}
