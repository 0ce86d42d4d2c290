package guide_test

import (
	"testing"

	"github.com/xdplab/xdplab/labs/guide"
)

var alice = guide.Spelling{
	Instance:     "alice",
	Default:      "xdplab",
	Labs:         []string{"xdp_dump", "xdpcap", "redirect"},
	Dirs:         []string{"/sys/fs/bpf/xdplab", "/run/xdplab"},
	Instanceless: []string{"build", "init", "version"},
}

// TestSpell spells lines a guide holds for another instance.
func TestSpell(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"command", "```sh\nsudo xdplab up redirect\n```\n", "```sh\nsudo xdplab up redirect --instance alice\n```\n"},
		{"before a comment", "```sh\nsudo xdplab up redirect      # add --mode native\n```\n",
			"```sh\nsudo xdplab up redirect --instance alice      # add --mode native\n```\n"},
		{"directive kept", "```sh\nsudo xdplab watch xdpcap  # xdplab-guide: interrupt 2s\n```\n",
			"```sh\nsudo xdplab watch xdpcap --instance alice  # xdplab-guide: interrupt 2s\n```\n"},
		{"before --", "```sh\nsudo xdplab exec node1 -- ping -c 3 192.168.0.2\n```\n",
			"```sh\nsudo xdplab exec node1 --instance alice -- ping -c 3 192.168.0.2\n```\n"},
		{"pipeline and &&", "```sh\nsudo xdplab up xdpcap && sudo xdplab capture xdpcap -w - 'udp port 9' | tcpdump -nr -\n```\n",
			"```sh\nsudo xdplab up xdpcap --instance alice && sudo xdplab capture xdpcap -w - 'udp port 9' --instance alice | tcpdump -nr -\n```\n"},
		{"redirection", "```sh\nsudo xdplab capture xdpcap -w - > out.pcapng 2>&1\n```\n",
			"```sh\nsudo xdplab capture xdpcap -w - --instance alice > out.pcapng 2>&1\n```\n"},
		{"quoted #", "```sh\nxdplab capture xdpcap 'tcp[13] # x'\n```\n", "```sh\nxdplab capture xdpcap 'tcp[13] # x' --instance alice\n```\n"},
		{"continued line", "```sh\nsudo xdplab run redirect \\\n  --mode native   # both\n```\n",
			"```sh\nsudo xdplab run redirect \\\n  --mode native --instance alice   # both\n```\n"},
		{"instanceless", "```sh\nxdplab init xdpcap\nxdplab build x.c\nxdplab --version\nxdplab\n```\n", "```sh\nxdplab init xdpcap\nxdplab build x.c\nxdplab --version\nxdplab\n```\n"},
		{"has one already", "```sh\nxdplab down --instance bob\nxdplab down --instance=bob\n```\n", "```sh\nxdplab down --instance bob\nxdplab down --instance=bob\n```\n"},
		{"a path to the binary", "```sh\nsudo ./bin/xdplab status\n```\n", "```sh\nsudo ./bin/xdplab status --instance alice\n```\n"},
		{"make targets", "```sh\nmake\nmake up\nSUDO= make check\nmake down INSTANCE=bob\n```\n",
			"```sh\nmake\nmake up INSTANCE=alice\nSUDO= make check INSTANCE=alice\nmake down INSTANCE=bob\n```\n"},
		{"$(...)", "```sh\nclang -I/usr/include/$(uname -m)-linux-gnu -c x.c && xdplab up xdpcap --obj x.o\n```\n",
			"```sh\nclang -I/usr/include/$(uname -m)-linux-gnu -c x.c && xdplab up xdpcap --obj x.o --instance alice\n```\n"},
		{"namespaces everywhere", "netns xdplab-redirect-host, and `ip -n xdplab-xdp_dump-node1`\n",
			"netns alice-redirect-host, and `ip -n alice-xdp_dump-node1`\n"},
		{"not a namespace", "dist/xdplab-linux-amd64, myxdplab-redirect-host, xdplab-other-node1\n",
			"dist/xdplab-linux-amd64, myxdplab-redirect-host, xdplab-other-node1\n"},
		{"a path to a namespace", "/run/netns/xdplab-redirect-node1\n", "/run/netns/alice-redirect-node1\n"},
		{"pins and state", "/sys/fs/bpf/xdplab/xdplab/xdpcap/xdpcap_hook, /sys/fs/bpf/xdplab/xdplab, /run/xdplab/xdplab/x.undo, /sys/fs/bpf/xdplab/xdplabx\n",
			"/sys/fs/bpf/xdplab/alice/xdpcap/xdpcap_hook, /sys/fs/bpf/xdplab/alice, /run/xdplab/alice/x.undo, /sys/fs/bpf/xdplab/xdplabx\n"},
		{"console prompt", "```console\n$ sudo xdplab check redirect\nredirect (instance xdplab, generic mode)\nxdplab status shows it\n```\n",
			"```console\n$ sudo xdplab check redirect --instance alice\nredirect (instance xdplab, generic mode)\nxdplab status shows it\n```\n"},
		{"output without prompt", "```\nsudo xdplab check redirect --instance x    # verify\n```\n", "```\nsudo xdplab check redirect --instance x    # verify\n```\n"},
		{"other languages", "```c\nxdplab up xdpcap\n```\n", "```c\nxdplab up xdpcap\n```\n"},
		{"inline code", "Run `sudo xdplab check xdpcap` or `xdplab topo xdpcap`, not `xdplab:` nor `the xdplab up`.\n",
			"Run `sudo xdplab check xdpcap --instance alice` or `xdplab topo xdpcap --instance alice`, not `xdplab:` nor `the xdplab up`.\n"},
		{"inline mentions", "`xdplab capture` builds, `xdplab status` shows, `sudo xdplab` runs.\n", "`xdplab capture` builds, `xdplab status` shows, `sudo xdplab` runs.\n"},
		{"inline synopsis", "`xdplab capture <lab|hook-pin> [-w FILE|-]`, `sudo xdplab fw list [--json]`\n", "`xdplab capture <lab|hook-pin> [-w FILE|-]`, `sudo xdplab fw list [--json]`\n"},
		{"inline code over two lines", "Ping it (`sudo xdplab traffic ping --from node2 --to\n  192.168.0.3`): veth2 reflects it.\n",
			"Ping it (`sudo xdplab traffic ping --from node2 --to\n  192.168.0.3 --instance alice`): veth2 reflects it.\n"},
		{"inline make", "In a workspace, `make up` and ``make check`` grade it.\n",
			"In a workspace, `make up INSTANCE=alice` and ``make check INSTANCE=alice`` grade it.\n"},
		{"unclosed inline code", "a `sudo xdplab up xdpcap\n\nnext", "a `sudo xdplab up xdpcap\n\nnext"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := alice.Spell(tc.in); got != tc.want {
				t.Errorf("Spell(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestSpellDefault: for the default instance a text is left as written.
func TestSpellDefault(t *testing.T) {
	s := alice
	for _, inst := range []string{"xdplab", ""} {
		s.Instance = inst
		if got := s.Spell(synthetic); got != synthetic {
			t.Errorf("Spell for %q changed the text:\n%s", inst, got)
		}
	}
}
