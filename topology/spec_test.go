package topology

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestValidateRejects(t *testing.T) {
	base := func() Spec { return Pair() }
	cases := []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"no nodes", func(s *Spec) { s.Nodes = nil; s.Links = nil }, "nodes: no nodes"},
		{"bad node name", func(s *Spec) { s.Nodes[0].Name = "Host-1" }, `nodes[0].name: node name "Host-1"`},
		{"duplicate node", func(s *Spec) { s.Nodes[1].Name = "host" }, `nodes[1].name: node "host" declared twice`},
		{"unknown node", func(s *Spec) { s.Links[0].B.Node = "node9" }, `links[0].b.node: unknown node "node9" (nodes: host, node1)`},
		{"long iface", func(s *Spec) { s.Links[0].A.Iface = "averyveryverylongname" }, `links[0].a.iface (node host): interface name "averyveryverylongname": 1-15 characters`},
		{"bad address", func(s *Spec) { s.Links[0].A.Addr = "192.168.0.300/24" }, "links[0].a.addr (node host): address \"192.168.0.300/24\": want IPv4 with prefix length"},
		{"ipv6 address", func(s *Spec) { s.Links[0].A.Addr = "fd00::1/64" }, "want IPv4"},
		{"no prefix", func(s *Spec) { s.Links[0].A.Addr = "192.168.0.3" }, "want IPv4 with prefix length"},
		{"duplicate address", func(s *Spec) { s.Links[0].B.Addr = "192.168.0.3/24" }, "links[0].b.addr (node node1): address 192.168.0.3 used by host/veth0 and node1/veth1"},
		{"self link", func(s *Spec) { s.Links[0].B.Node = "host"; s.Links[0].B.Iface = "veth9" }, "links[0] (node host): both ends on node host"},
		{"gateway off link", func(s *Spec) {
			s.Nodes[0].Routes = []Route{{Dst: "10.0.0.0/8", Via: "172.16.0.1"}}
		}, "nodes[0].routes[0].via (node host): route via 172.16.0.1: gateway is not on any of its links (its addresses: 192.168.0.3/24)"},
		{"bad route dst", func(s *Spec) {
			s.Nodes[0].Routes = []Route{{Dst: "10.0.0.0/33", Via: "192.168.0.2"}}
		}, `nodes[0].routes[0].dst (node host): route destination "10.0.0.0/33"`},
		{"non-net sysctl", func(s *Spec) { s.Nodes[0].Sysctls = map[string]string{"kernel.panic": "1"} }, "nodes[0].sysctls.kernel.panic (node host): sysctl \"kernel.panic\": only net.* keys"},
		{"path sysctl", func(s *Spec) { s.Nodes[0].Sysctls = map[string]string{"net/../../etc": "1"} }, "only net.* keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			c.mutate(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want error containing %q", err, c.want)
			}
		})
	}
	for _, s := range []Spec{Pair(), Redirect()} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

func TestResolve(t *testing.T) {
	r, err := Resolve(Redirect(), "xdplab", "redirect")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Namespaces(); strings.Join(got, " ") != "xdplab-redirect-host xdplab-redirect-node1 xdplab-redirect-node2" {
		t.Errorf("namespaces %v", got)
	}
	n1, _ := r.Node("node1")
	if n1.Sysctls[0] != (Sysctl{"net.ipv4.ip_forward", "1"}) {
		t.Errorf("node1 sysctls start with %v, want ip_forward=1", n1.Sysctls[0])
	}
	host, _ := r.Node("host")
	if host.Sysctls[0].Value != "0" || len(host.Routes) != 1 || host.Routes[0].Dst.String() != "192.168.1.0/24" {
		t.Errorf("host: %+v", host)
	}
	ep, err := r.Endpoint("node2", "veth3")
	if err != nil || ep.Addr.String() != "192.168.1.5/24" || ep.Namespace != "xdplab-redirect-node2" {
		t.Errorf("endpoint node2/veth3 = %+v, %v", ep, err)
	}
	if _, err := r.Endpoint("node2", "veth9"); err == nil {
		t.Error("unknown endpoint resolved")
	}
	if _, err := Resolve(Pair(), "bad-instance", "pair"); err == nil || !strings.Contains(err.Error(), "no '-'") {
		t.Errorf("instance with '-': %v", err)
	}
	if _, err := Resolve(Pair(), "ok", "Bad-Lab"); err == nil {
		t.Error("bad lab name accepted")
	}
}

func TestMACDeterministic(t *testing.T) {
	a := MAC("xdplab", "host", "veth0")
	if a.String() != MAC("xdplab", "host", "veth0").String() {
		t.Fatal("MAC not deterministic")
	}
	if a[0]&0x02 == 0 || a[0]&0x01 != 0 {
		t.Errorf("MAC %s is not locally administered unicast", a)
	}
	if a.String() == MAC("other", "host", "veth0").String() || a.String() == MAC("xdplab", "host", "veth1").String() {
		t.Error("MACs collide across instance or interface")
	}
}

func TestValidateInstance(t *testing.T) {
	for _, ok := range []string{"xdplab", "a", "t1234abcd", "class_2"} {
		if err := ValidateInstance(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a-b", "a/b", "a b", strings.Repeat("x", 33), "../x"} {
		if err := ValidateInstance(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzSpecValidate(f *testing.F) {
	f.Add("host", "veth0", "192.168.0.3/24", "node1", "veth1", "192.168.0.2/24", "10.0.0.0/8", "192.168.0.2")
	f.Add("a", "e", "1.2.3.4/33", "a", "e", "", "x", "y")
	f.Fuzz(func(t *testing.T, n1, i1, a1, n2, i2, a2, dst, via string) {
		s := Spec{
			Name:  "fuzz",
			Nodes: []Node{{Name: n1, Routes: []Route{{Dst: dst, Via: via}}}, {Name: n2}},
			Links: []Link{{A: Endpoint{n1, i1, a1}, B: Endpoint{n2, i2, a2}}},
		}
		if err := s.Validate(); err != nil {
			return
		}
		// Whatever validates must resolve without panicking.
		if _, err := Resolve(s, "fuzz", "fuzz"); err != nil {
			t.Fatalf("valid spec failed to resolve: %v", err)
		}
	})
}

func TestRoles(t *testing.T) {
	r, err := Resolve(Redirect(), "xdplab", "redirect")
	if err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string]string{
		"sender": "host/veth0 192.168.0.3/24", "dut": "node1/veth1 192.168.0.2/24",
		"dut_out": "node1/veth2 192.168.1.4/24", "receiver": "node2/veth3 192.168.1.5/24",
	} {
		e, err := r.Role(role)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Node + "/" + e.Iface + " " + e.Addr.String(); got != want {
			t.Errorf("role %s = %s, want %s", role, got, want)
		}
	}
	if _, err := r.Role("router"); err == nil || !strings.Contains(err.Error(), `no role "router" (roles: dut, dut_out, receiver, sender)`) {
		t.Errorf("unknown role: %v", err)
	}
	bad := Pair()
	bad.Roles = map[string]string{"sender": "host/veth9", "Bad": "node1/veth1"}
	err = bad.Validate()
	for _, want := range []string{`roles.sender: role sender: "host/veth9" is not an interface`, `roles.Bad: role name "Bad"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to say %q", err, want)
		}
	}
}

// TestNameChecks: the hand-written checks accept exactly what the regular
// expressions they replace accepted.
func TestNameChecks(t *testing.T) {
	for _, c := range []struct {
		check func(string) bool
		re    *regexp.Regexp
	}{
		{validName, regexp.MustCompile(`^[a-z][a-z0-9_]{0,19}$`)},
		{validIface, regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.]{0,14}$`)},
		{validInstance, regexp.MustCompile(`^[a-zA-Z0-9_]{1,32}$`)},
	} {
		words := []string{"", "a", "A", "0", "_", ".", "-", "a-b", "veth0", "eth1.100", "node_1", "Host", "é", "a\n"}
		for n := 14; n <= 34; n++ {
			words = append(words, strings.Repeat("a", n), "x"+strings.Repeat("9", n-1))
		}
		const alphabet = "aZ09_.-/ \x00\xff"
		for i := range 20000 {
			var b []byte
			for j := i; j > 0; j /= len(alphabet) {
				b = append(b, alphabet[j%len(alphabet)])
			}
			words = append(words, string(b))
		}
		for _, w := range words {
			if got, want := c.check(w), c.re.MatchString(w); got != want {
				t.Errorf("%s: %q: %v, regexp says %v", c.re, w, got, want)
			}
		}
	}
}
