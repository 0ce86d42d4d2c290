package redirect

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/internal/namespace"
)

// Native XDP on veth: a frame redirected into a veth travels as a bare
// xdp_frame, without the skb's "checksum still to be done" mark. A veth
// sender offloads tx checksums (to nobody), so its packets would arrive with
// a checksum nobody filled in. Turning tx checksum offload off on the veths
// that send into node1 makes their stack checksum every packet itself.

// ethtoolValue is struct ethtool_value, the argument of the simple ethtool
// get/set commands.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqData is struct ifreq with the ifr_data member of its union in use;
// the union is 24 bytes on 64-bit machines, 16 on 32-bit ones.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// ethtool runs one SIOCETHTOOL command on iface inside ns; the ioctl acts in
// the namespace of the socket, so the socket is made there.
func ethtool(ns *namespace.NS, iface string, cmd, data uint32) (uint32, error) {
	if len(iface) >= unix.IFNAMSIZ {
		return 0, fmt.Errorf("interface name %q too long", iface)
	}
	v := ethtoolValue{cmd: cmd, data: data}
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket for ethtool: %w", err)
		}
		defer unix.Close(fd)
		var ifr ifreqData
		copy(ifr.name[:], iface)
		ifr.data = unsafe.Pointer(&v)
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
			return fmt.Errorf("SIOCETHTOOL on %s: %w", iface, errno)
		}
		return nil
	})
	return v.data, err
}

// setTxChecksum turns tx checksum offload of iface on or off (ethtool -K
// iface tx on|off).
func setTxChecksum(ns *namespace.NS, iface string, on bool) error {
	var data uint32
	if on {
		data = 1
	}
	_, err := ethtool(ns, iface, unix.ETHTOOL_STXCSUM, data)
	return err
}

// txChecksum reports whether tx checksum offload of iface is on.
func txChecksum(ns *namespace.NS, iface string) (bool, error) {
	v, err := ethtool(ns, iface, unix.ETHTOOL_GTXCSUM, 0)
	return v != 0, err
}
