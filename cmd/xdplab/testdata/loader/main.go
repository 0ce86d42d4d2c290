// Command loader is a learner's own loader, written the way the tutorials
// write theirs with cilium/ebpf (go-xdp-examples' main.go, samples/bpf's
// sockex1_user.c): load an object, attach its program, keep it there until
// Ctrl-C. The tests of `xdplab up --bare` run it inside a node with
// `xdplab exec`, as a learner would:
//
//	loader -elf prog.o -iface veth1 [-iface veth2] [-program NAME]
//	loader -elf sockex1.o -socket lo
//
// XDP programs go on each -iface in generic mode (-mode native for
// driver mode); a DEVMAP named if_redirect gets each -iface's ifindex, as
// the redirect tutorial fills it. A socket filter goes on a packet socket
// bound to -socket.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loader:", err)
		os.Exit(1)
	}
}

func run() error {
	var ifaces list
	elf := flag.String("elf", "", "the compiled BPF `object`")
	name := flag.String("program", "", "the program to attach (default: the object's only XDP program or socket filter)")
	sock := flag.String("socket", "", "attach a socket filter to a packet socket bound to `IFACE`")
	mode := flag.String("mode", "generic", "XDP attach mode: generic or native")
	flag.Var(&ifaces, "iface", "attach the XDP program to `IFACE` (repeatable)")
	flag.Parse()
	if *elf == "" || (len(ifaces) == 0) == (*sock == "") {
		return errors.New("usage: loader -elf FILE.o (-iface IFACE... | -socket IFACE) [-program NAME] [-mode generic|native]")
	}

	spec, err := ebpf.LoadCollectionSpec(*elf)
	if err != nil {
		return err
	}
	want := ebpf.XDP
	if *sock != "" {
		want = ebpf.SocketFilter
	}
	prog, err := pick(spec, *name, want)
	if err != nil {
		return err
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return fmt.Errorf("load %s: %w", *elf, err)
	}
	defer coll.Close()

	if *sock != "" {
		fd, err := packetSocket(*sock, coll.Programs[prog])
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		fmt.Printf("attached %s to a packet socket on %s\n", prog, *sock)
	} else {
		if m := coll.Maps["if_redirect"]; m != nil {
			if err := fillDevmap(m, ifaces); err != nil {
				return err
			}
		}
		flags := link.XDPGenericMode
		if *mode == "native" {
			flags = link.XDPDriverMode
		}
		for _, name := range ifaces {
			iface, err := net.InterfaceByName(name)
			if err != nil {
				return err
			}
			l, err := link.AttachXDP(link.XDPOptions{Program: coll.Programs[prog], Interface: iface.Index, Flags: flags})
			if err != nil {
				return fmt.Errorf("attach %s to %s: %w", prog, name, err)
			}
			defer l.Close()
			fmt.Printf("attached %s to %s (%s)\n", prog, name, *mode)
		}
	}
	fmt.Println("press Ctrl-C to detach and exit")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	return nil
}

// pick is the program named, or the object's only program of the type.
func pick(spec *ebpf.CollectionSpec, name string, typ ebpf.ProgramType) (string, error) {
	if name != "" {
		if _, ok := spec.Programs[name]; !ok {
			return "", fmt.Errorf("no program %q in the object", name)
		}
		return name, nil
	}
	var found []string
	for n, p := range spec.Programs {
		if p.Type == typ {
			found = append(found, n)
		}
	}
	sort.Strings(found)
	if len(found) != 1 {
		return "", fmt.Errorf("%d %s programs in the object (%s): name one with -program", len(found), typ, strings.Join(found, ", "))
	}
	return found[0], nil
}

// fillDevmap maps each interface's ifindex to itself, from this process's
// namespace, where the program redirects.
func fillDevmap(m *ebpf.Map, ifaces []string) error {
	for _, name := range ifaces {
		iface, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		if err := m.Update(uint32(iface.Index), uint32(iface.Index), ebpf.UpdateAny); err != nil {
			return fmt.Errorf("add %s to if_redirect: %w", name, err)
		}
	}
	return nil
}

// packetSocket opens a raw packet socket bound to an interface with the
// filter attached, as sockex1_user.c's open_raw_sock and SO_ATTACH_BPF do.
func packetSocket(name string, prog *ebpf.Program) (int, error) {
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return -1, err
	}
	proto := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: iface.Index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind to %s: %w", name, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, prog.FD()); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("SO_ATTACH_BPF: %w", err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
