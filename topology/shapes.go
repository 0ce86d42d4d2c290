package topology

import "fmt"

// Line is n nodes in a chain, node0 - node1 - ... ; every link its own /24
// (10.<i/256>.<i%256>.0/24). Used by the scale benchmarks.
func Line(n int) Spec {
	s := Spec{Name: fmt.Sprintf("line%d", n)}
	for i := range n {
		s.Nodes = append(s.Nodes, Node{Name: fmt.Sprintf("n%d", i)})
	}
	for i := 0; i+1 < n; i++ {
		s.Links = append(s.Links, Link{
			A: Endpoint{Node: fmt.Sprintf("n%d", i), Iface: "right", Addr: linkAddr(i, 1)},
			B: Endpoint{Node: fmt.Sprintf("n%d", i+1), Iface: "left", Addr: linkAddr(i, 2)},
		})
	}
	return s
}

// Star is one hub and n-1 spokes, each spoke on its own /24 with the hub.
func Star(n int) Spec {
	s := Spec{Name: fmt.Sprintf("star%d", n), Nodes: []Node{{Name: "hub", Forward: true}}}
	for i := 1; i < n; i++ {
		spoke := fmt.Sprintf("n%d", i)
		s.Nodes = append(s.Nodes, Node{Name: spoke})
		s.Links = append(s.Links, Link{
			A: Endpoint{Node: "hub", Iface: fmt.Sprintf("eth%d", i), Addr: linkAddr(i, 1)},
			B: Endpoint{Node: spoke, Iface: "eth0", Addr: linkAddr(i, 2)},
		})
	}
	return s
}

func linkAddr(i, host int) string {
	return fmt.Sprintf("10.%d.%d.%d/24", i/256, i%256, host)
}
