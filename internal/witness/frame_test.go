package witness

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestHtons(t *testing.T) {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], htons(unix.ETH_P_ALL))
	if b != [2]byte{0x00, 0x03} {
		t.Errorf("htons(ETH_P_ALL) is %x in memory, want 00 03 (network byte order)", b)
	}
}

// cmsg builds one control message as the kernel writes it.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestAuxdata(t *testing.T) {
	raw := make([]byte, auxdataLen)
	ne := binary.NativeEndian
	ne.PutUint32(raw[0:], unix.TP_STATUS_VLAN_VALID|unix.TP_STATUS_VLAN_TPID_VALID)
	ne.PutUint32(raw[4:], 98)  // length before any filter cut
	ne.PutUint32(raw[8:], 20)  // what the socket got
	ne.PutUint16(raw[16:], 42) // tci
	ne.PutUint16(raw[18:], 0x88a8)
	oob := append(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMP, make([]byte, 16)), cmsg(unix.SOL_PACKET, unix.PACKET_AUXDATA, raw)...)
	aux, ok := auxdata(oob)
	if !ok {
		t.Fatal("no auxdata found")
	}
	want := unix.TpacketAuxdata{Status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID, Len: 98, Snaplen: 20, Vlan_tci: 42, Vlan_tpid: 0x88a8}
	if aux != want {
		t.Errorf("auxdata %+v, want %+v", aux, want)
	}
	if _, ok := auxdata(cmsg(unix.SOL_PACKET, unix.PACKET_AUXDATA, raw[:12])); ok {
		t.Error("a short auxdata message was taken")
	}
	if _, ok := auxdata(nil); ok {
		t.Error("auxdata found in no control message")
	}
}

func TestWithVLAN(t *testing.T) {
	frame := []byte{
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // dst, src
		0x08, 0x00, // IPv4
		0x45, 0x00,
	}
	t.Run("untagged", func(t *testing.T) {
		got := withVLAN(frame, unix.TpacketAuxdata{})
		if !bytes.Equal(got, frame) {
			t.Errorf("got % x, want the frame unchanged", got)
		}
		got[0] = 0xff
		if frame[0] == 0xff {
			t.Error("the frame was not copied: the read buffer would be aliased")
		}
	})
	tagged := func(tpid byte) []byte {
		return append(append(append([]byte(nil), frame[:12]...), tpid, 0x00, 0x20, 0x2a), frame[12:]...)
	}
	t.Run("802.1Q", func(t *testing.T) {
		got := withVLAN(frame, unix.TpacketAuxdata{Status: unix.TP_STATUS_VLAN_VALID, Vlan_tci: 0x202a})
		if want := tagged(0x81); !bytes.Equal(got, want) {
			t.Errorf("got  % x\nwant % x", got, want)
		}
	})
	t.Run("802.1ad", func(t *testing.T) {
		got := withVLAN(frame, unix.TpacketAuxdata{Status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID, Vlan_tci: 0x202a, Vlan_tpid: 0x88a8})
		want := tagged(0x88)
		want[13] = 0xa8
		if !bytes.Equal(got, want) {
			t.Errorf("got  % x\nwant % x", got, want)
		}
	})
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{Both: "both", In: "in", Out: "out"} {
		if d.String() != want {
			t.Errorf("%d: %q, want %q", d, d, want)
		}
	}
}
