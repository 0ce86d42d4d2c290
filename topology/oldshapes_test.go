package topology

import (
	"fmt"
	"reflect"
	"testing"
)

// The Go functions the embedded files replace, kept for one comparison.

func oldPair() Spec {
	return Spec{
		Name:  "pair",
		Nodes: []Node{{Name: "host"}, {Name: "node1"}},
		Links: []Link{{
			A: Endpoint{Node: "host", Iface: "veth0", Addr: "192.168.0.3/24"},
			B: Endpoint{Node: "node1", Iface: "veth1", Addr: "192.168.0.2/24"},
		}},
		Roles: map[string]string{"sender": "host/veth0", "dut": "node1/veth1"},
	}
}

func oldRedirect() Spec {
	return Spec{
		Name: "redirect",
		Nodes: []Node{
			{Name: "host", Routes: []Route{{Dst: "192.168.1.0/24", Via: "192.168.0.2"}}},
			{Name: "node1", Forward: true},
			{Name: "node2", Routes: []Route{{Dst: "192.168.0.0/24", Via: "192.168.1.4"}}},
		},
		Links: []Link{
			{A: Endpoint{Node: "host", Iface: "veth0", Addr: "192.168.0.3/24"},
				B: Endpoint{Node: "node1", Iface: "veth1", Addr: "192.168.0.2/24"}},
			{A: Endpoint{Node: "node1", Iface: "veth2", Addr: "192.168.1.4/24"},
				B: Endpoint{Node: "node2", Iface: "veth3", Addr: "192.168.1.5/24"}},
		},
		StaticNeighbors: true,
		Roles: map[string]string{
			"sender": "host/veth0", "dut": "node1/veth1",
			"dut_out": "node1/veth2", "receiver": "node2/veth3",
		},
	}
}

func oldLine(n int) Spec {
	s := Spec{Name: fmt.Sprintf("line%d", n)}
	for i := range n {
		s.Nodes = append(s.Nodes, Node{Name: fmt.Sprintf("n%d", i)})
	}
	for i := 0; i+1 < n; i++ {
		s.Links = append(s.Links, Link{
			A: Endpoint{Node: fmt.Sprintf("n%d", i), Iface: "right", Addr: oldLinkAddr(i, 1)},
			B: Endpoint{Node: fmt.Sprintf("n%d", i+1), Iface: "left", Addr: oldLinkAddr(i, 2)},
		})
	}
	return s
}

func oldStar(n int) Spec {
	s := Spec{Name: fmt.Sprintf("star%d", n), Nodes: []Node{{Name: "hub", Forward: true}}}
	for i := 1; i < n; i++ {
		spoke := fmt.Sprintf("n%d", i)
		s.Nodes = append(s.Nodes, Node{Name: spoke})
		s.Links = append(s.Links, Link{
			A: Endpoint{Node: "hub", Iface: fmt.Sprintf("eth%d", i), Addr: oldLinkAddr(i, 1)},
			B: Endpoint{Node: spoke, Iface: "eth0", Addr: oldLinkAddr(i, 2)},
		})
	}
	return s
}

func oldLinkAddr(i, host int) string {
	return fmt.Sprintf("10.%d.%d.%d/24", i/256, i%256, host)
}

func TestFilesMatchOldGo(t *testing.T) {
	if got, want := Pair(), oldPair(); !reflect.DeepEqual(got, want) {
		t.Errorf("pair:\n got %+v\nwant %+v", got, want)
	}
	if got, want := Redirect(), oldRedirect(); !reflect.DeepEqual(got, want) {
		t.Errorf("redirect:\n got %+v\nwant %+v", got, want)
	}
	for _, n := range []int{1, 2, 3, 8, 32, 128, 255, 256, 257, 300, 1000} {
		for name, old := range map[string]func(int) Spec{"line": oldLine, "star": oldStar} {
			got, err := Scaled(name, n)
			if err != nil {
				t.Fatalf("%s %d: %v", name, n, err)
			}
			if want := old(n); !reflect.DeepEqual(got, want) {
				t.Errorf("%s %d:\n got %+v\nwant %+v", name, n, got, want)
			}
		}
	}
}

