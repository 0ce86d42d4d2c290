package guide_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/labs/guide"
)

// synthetic holds every kind of block and directive the convention has.
const synthetic = "# demo — a guide\n" + // 1
	"\n" + // 2
	"Prose with `sudo xdplab up demo` inline.\n" + // 3
	"\n" + // 4
	"```sh\n" + // 5
	"sudo xdplab up demo          # build it\n" + // 6
	"\n" + // 7
	"# a comment, not a command\n" + // 8
	"sudo xdplab watch demo       # Ctrl-C to stop  # xdplab-guide: interrupt 2s\n" + // 9
	"sudo xdplab check demo \\\n" + // 10
	"    --json                   # xdplab-guide: exit 1 (the starter fails)\n" + // 11
	"tcpdump -ni veth0  # xdplab-guide: background; prints \"listening; on\"\n" + // 12
	"capture | tcpdump -r -  # xdplab-guide: interrupt 1s; exit 0,1\n" + // 13
	"```\n" + // 14
	"\n" + // 15
	"```text\n" + // 16
	"sudo xdplab up demo\n" + // 17
	"```\n" + // 18
	"\n" + // 19
	"1. In a list:\n" + // 20
	"\n" + // 21
	"   ```sh\n" + // 22
	"   # xdplab-guide: needs steps\n" + // 23
	"   # xdplab-guide: given prog.c from labs/demo/demo.c; given include/x.h from bpf/x.h\n" + // 24
	"   xdplab init demo\n" + // 25
	"   ```\n" + // 26
	"\n" + // 27
	"```sh\n" + // 28
	"# xdplab-guide: skip (runs in the tutorial's checkout)\n" + // 29
	"clang -c x.c\n" + // 30
	"```\n" + // 31
	"\n" + // 32
	"````console\n" + // 33
	"$ cat\n" + // 34
	"```\n" + // 35
	"````\n" + // 36
	"\n" + // 37
	"```c\n" + // 38
	"int main(void) { return 0; }\n" + // 39
	"```\n" // 40

// TestBlocks extracts a synthetic guide: every block with its line and
// language, the commands of sh blocks with their lines, continuation lines
// joined, directives read and removed from the text.
func TestBlocks(t *testing.T) {
	blocks, err := guide.Blocks(synthetic)
	if err != nil {
		t.Fatal(err)
	}
	type head struct {
		Line int
		Lang string
	}
	var heads []head
	for _, b := range blocks {
		heads = append(heads, head{b.Line, b.Lang})
	}
	want := []head{{5, "sh"}, {16, "text"}, {22, "sh"}, {28, "sh"}, {33, "console"}, {38, "c"}}
	if !reflect.DeepEqual(heads, want) {
		t.Fatalf("blocks %v, want %v", heads, want)
	}

	wantCmds := []guide.Command{
		{Line: 6, Text: "sudo xdplab up demo          # build it"},
		{Line: 9, Text: "sudo xdplab watch demo       # Ctrl-C to stop", Interrupt: 2 * time.Second},
		{Line: 10, Text: "sudo xdplab check demo \\\n    --json", Exit: []int{1}},
		{Line: 12, Text: "tcpdump -ni veth0", Background: true, Prints: "listening; on"},
		{Line: 13, Text: "capture | tcpdump -r -", Interrupt: time.Second, Exit: []int{0, 1}},
	}
	if got := blocks[0].Commands; !reflect.DeepEqual(got, wantCmds) {
		t.Errorf("commands of the first block:\n%#v\nwant\n%#v", got, wantCmds)
	}
	if c := blocks[0].Commands; !c[2].Allows(1) || c[2].Allows(0) || !c[0].Allows(0) || !c[4].Allows(1) || c[4].Allows(2) {
		t.Errorf("Allows does not follow Exit: %+v", c)
	}

	if len(blocks[1].Commands) != 0 {
		t.Errorf("a text block has commands: %+v", blocks[1].Commands)
	}

	listed := blocks[2]
	if !listed.NeedsSteps || listed.Skip != "" {
		t.Errorf("the indented block: needs steps %v, skip %q", listed.NeedsSteps, listed.Skip)
	}
	if want := []guide.Given{{"prog.c", "labs/demo/demo.c"}, {"include/x.h", "bpf/x.h"}}; !reflect.DeepEqual(listed.Given, want) {
		t.Errorf("given %+v, want %+v", listed.Given, want)
	}
	if want := []guide.Command{{Line: 25, Text: "xdplab init demo"}}; !reflect.DeepEqual(listed.Commands, want) {
		t.Errorf("the indented block's commands %+v, want %+v (indentation removed)", listed.Commands, want)
	}

	if blocks[3].Skip != "runs in the tutorial's checkout" {
		t.Errorf("skip reason %q", blocks[3].Skip)
	}
	if blocks[4].Lines[1] != "```" {
		t.Errorf("a shorter fence inside a four-backtick block ended it: %q", blocks[4].Lines)
	}
}

// TestBlocksRefuses: each break of the convention is an error naming its
// line and the fix, and the blocks are still returned.
func TestBlocksRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, md string
		want     []string
	}{
		{"unclosed fence", "text\n```sh\nls\n", []string{"line 2:", "never closed"}},
		{"commands without a language", "```\nsudo xdplab up demo\n```\n", []string{"line 1:", `starts with the command "sudo xdplab up demo"`, "```sh", "```text"}},
		{"make without a language", "```\nmake\n```\n", []string{"line 1:", "```sh"}},
		{"bash", "```bash\nls\n```\n", []string{"line 1:", "write ```sh"}},
		{"prompt in sh", "```sh\n$ ls\n```\n", []string{"line 2:", "prompt", "```console"}},
		{"directive in text", "```text\nls  # xdplab-guide: exit 1\n```\n", []string{"line 1:", "```sh blocks only"}},
		{"unknown directive", "```sh\nls  # xdplab-guide: retry 3\n```\n", []string{"line 2:", `unknown directive "retry 3"`}},
		{"skip without reason", "```sh\nls  # xdplab-guide: skip\n```\n", []string{"line 2:", "reason in parentheses"}},
		{"bad exit", "```sh\nls  # xdplab-guide: exit one\n```\n", []string{"line 2:", "exit takes the exit code"}},
		{"exit out of range", "```sh\nls  # xdplab-guide: exit 300\n```\n", []string{"line 2:", "0 to 255"}},
		{"bad interrupt", "```sh\nls  # xdplab-guide: interrupt soon\n```\n", []string{"line 2:", "as in `interrupt 2s`"}},
		{"prints unquoted", "```sh\nls  # xdplab-guide: background; prints ready\n```\n", []string{"line 2:", "double quotes"}},
		{"background and interrupt", "```sh\nls  # xdplab-guide: background; interrupt 2s\n```\n", []string{"line 2:", "drop interrupt"}},
		{"skip and exit", "```sh\nls  # xdplab-guide: skip (no); exit 1\n```\n", []string{"line 2:", "skip takes no other directive"}},
		{"block directive on a command", "```sh\nls  # xdplab-guide: needs steps\n```\n", []string{"line 2:", "whole block"}},
		{"command directive on a block", "```sh\n# xdplab-guide: exit 1\nls\n```\n", []string{"line 2:", "end of a command's line"}},
		{"block directive after a command", "```sh\nls\n# xdplab-guide: skip (late)\n```\n", []string{"line 3:", "goes at its top"}},
		{"given absolute", "```sh\n# xdplab-guide: given /etc/passwd from x\nls\n```\n", []string{"line 2:", "both relative"}},
		{"given outside", "```sh\n# xdplab-guide: given x.c from ../x.c\nls\n```\n", []string{"line 2:", "both relative"}},
		{"given without from", "```sh\n# xdplab-guide: given x.c\nls\n```\n", []string{"line 2:", "given names a file"}},
		{"needs what", "```sh\n# xdplab-guide: needs root\nls\n```\n", []string{"line 2:", "`needs steps`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks, err := guide.Blocks(tc.md)
			if err == nil {
				t.Fatalf("no error for\n%s", tc.md)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(blocks) == 0 {
				t.Error("no blocks returned with the error")
			}
		})
	}
}

// TestStrip: the reader sees no directive, and nothing else changes.
func TestStrip(t *testing.T) {
	got := guide.Strip(synthetic)
	if strings.Contains(got, "xdplab-guide") {
		t.Errorf("a directive is left:\n%s", got)
	}
	for _, want := range []string{
		"sudo xdplab watch demo       # Ctrl-C to stop\n",
		"    --json\n",
		"tcpdump -ni veth0\n",
		"   ```sh\n   xdplab init demo\n   ```\n",
		"```sh\nclang -c x.c\n```\n",
		"Prose with `sudo xdplab up demo` inline.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stripped text lacks %q:\n%s", want, got)
		}
	}
	if plain := "# t\n\n```sh\nls\n```\n"; guide.Strip(plain) != plain {
		t.Errorf("Strip changed a text without directives: %q", guide.Strip(plain))
	}
}
