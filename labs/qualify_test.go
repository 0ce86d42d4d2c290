package labs

import (
	"testing"

	"github.com/xdplab/xdplab/topology"
)

// TestQualifyNodes: exec's node and traffic's --from become LAB/NODE;
// flags, namespaces, words after the comment mark and unknown nodes stay.
func TestQualifyNodes(t *testing.T) {
	spec := topology.Spec{Nodes: []topology.Node{{Name: "host"}, {Name: "node1"}}}
	for in, want := range map[string]string{
		"sudo xdplab traffic ping --from host --to 192.168.0.2 --instance a   # or: sudo ip netns exec a-pc-host ping 192.168.0.2": "sudo xdplab traffic ping --from pc/host --to 192.168.0.2 --instance a   # or: sudo ip netns exec a-pc-host ping 192.168.0.2",
		"sudo xdplab exec --instance a node1 -- ./your-loader veth1":                                                               "sudo xdplab exec --instance a pc/node1 -- ./your-loader veth1",
		"sudo xdplab exec node1 -- ping host":                                                                                      "sudo xdplab exec pc/node1 -- ping host",
		"sudo xdplab exec node7 -- true":                                                                                           "sudo xdplab exec node7 -- true",
		"sudo xdplab check pc --instance a      # verify every expectation":                                                        "sudo xdplab check pc --instance a      # verify every expectation",
	} {
		if got := qualifyNodes(in, "pc", spec); got != want {
			t.Errorf("qualifyNodes(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}
