package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs/course"
)

// candidates is what `xdplab __complete WORDS...` offers, as the shell
// scripts call it.
func candidates(t *testing.T, env []string, words ...string) []string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{completeCmd}, words...)...)
	cmd.Env = append(os.Environ(), env...)
	r := mustSucceed(t, xdplabCmd(t, cmd))
	return strings.Fields(r.stdout)
}

func wantCandidates(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("candidates lack %q: %q", w, got)
		}
	}
}

// TestCompletionCandidates: commands, subcommands, flags, lab names, step
// names and flag values, from the CLI definition and the registry.
func TestCompletionCandidates(t *testing.T) {
	reg := course.Registry()
	got := candidates(t, nil, "")
	wantCandidates(t, got, "up", "check", "exec", "traffic", "watch", "completion", "fw", "help")
	if slices.Contains(got, completeCmd) {
		t.Errorf("the hidden command is offered: %q", got)
	}
	if got := candidates(t, nil, "st"); !slices.Equal(got, []string{"status", "steps"}) {
		t.Errorf("st completes to %q", got)
	}
	wantCandidates(t, candidates(t, nil, "topo", ""), append(reg.Names(), "validate")...)
	for _, cmd := range []string{"up", "check", "run", "down", "watch", "guide", "steps", "init"} {
		if got := candidates(t, nil, cmd, ""); !slices.Equal(got, slices.Sorted(slices.Values(reg.Names()))) {
			t.Errorf("%s completes to %q, want the labs", cmd, got)
		}
	}
	if got := candidates(t, nil, "up", "packet_counter", ""); len(got) != 0 {
		t.Errorf("up takes one lab, yet offers %q after it", got)
	}
	wantCandidates(t, candidates(t, nil, "run", "packet_counter", ""), "redirect")
	lab, _ := reg.Get("packet_counter")
	steps := []string{"base"}
	for _, s := range lab.Info().Steps {
		if s.Name != "" {
			steps = append(steps, s.Name)
		}
	}
	wantCandidates(t, candidates(t, nil, "up", "packet_counter", "--step", ""), steps...)
	wantCandidates(t, candidates(t, nil, "check", "packet_counter", "--step", ""), steps...)
	wantCandidates(t, candidates(t, nil, "traffic", ""), "ping", "tcp", "udp")
	wantCandidates(t, candidates(t, nil, "fw", ""), "add", "del", "list")
	wantCandidates(t, candidates(t, nil, "up", "--mo"), "--mode")
	wantCandidates(t, candidates(t, nil, "up", "--mode", ""), "generic", "native")
	wantCandidates(t, candidates(t, nil, "topo", "--format", ""), "text", "dot", "mermaid")
	wantCandidates(t, candidates(t, nil, "completion", ""), "bash", "zsh", "fish")
	wantCandidates(t, candidates(t, nil, "help", ""), "up", "traffic")
	// The node's command line is the shell's to complete (files).
	if got := candidates(t, nil, "exec", "node1", "--", ""); len(got) != 0 {
		t.Errorf("exec's command completes to %q", got)
	}

	wantError(t, xdplabCmd(t, exec.Command(bin, "completion")), "completion: name a shell: bash, zsh, fish, as in `xdplab completion bash > /etc/bash_completion.d/xdplab`", helpHint)
	wantError(t, xdplabCmd(t, exec.Command(bin, "completion", "tcsh")), "completion: name a shell")
}

// TestCompletionNodes: exec and traffic --from complete the nodes of the
// labs up in the instance the line names: bare and LAB/NODE with one lab
// up, LAB/NODE only with two. The bash, zsh and fish scripts offer the
// same, called as each shell calls them.
func TestCompletionNodes(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	if got := candidates(t, nil, "exec", "--instance", inst, ""); len(got) != 0 {
		t.Errorf("nodes offered with nothing up: %q", got)
	}
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	one := []string{"host", "node1", "packet_counter/host", "packet_counter/node1"}
	if got := candidates(t, nil, "exec", "--instance", inst, ""); !slices.Equal(got, one) {
		t.Errorf("exec completes to %q, want %q", got, one)
	}
	if got := candidates(t, []string{"XDPLAB_INSTANCE=" + inst}, "traffic", "ping", "--from", ""); !slices.Equal(got, one) {
		t.Errorf("traffic --from completes to %q, want %q", got, one)
	}
	if got := candidates(t, nil, "exec", "--instance="+inst, "n"); !slices.Equal(got, []string{"node1"}) {
		t.Errorf("exec n completes to %q", got)
	}

	path := filepath.Dir(bin) + ":" + os.Getenv("PATH")
	shell := func(name, script string) []string {
		t.Helper()
		requireTool(t, name)
		cmd := exec.Command(name, "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+path)
		r := mustSucceed(t, xdplabCmd(t, cmd))
		return strings.Fields(r.stdout)
	}
	for _, tc := range []struct{ shell, script string }{
		{"bash", `source <(xdplab completion bash); COMP_WORDS=(xdplab exec --instance ` + inst + ` ""); COMP_CWORD=4; _xdplab; printf "%s\n" "${COMPREPLY[@]}"`},
		// zsh completes only inside its completion system: compadd and
		// _files stand in for it.
		{"zsh", `compdef() { :; }; compadd() { [[ $1 == -a ]] && print -l -- "${(@P)2}"; }; _files() { print FILES; }; ` +
			`source <(xdplab completion zsh); words=(xdplab exec --instance ` + inst + ` ""); CURRENT=5; _xdplab`},
		{"fish", `source (xdplab completion fish | psub); complete -C "xdplab exec --instance ` + inst + ` "`},
	} {
		if got := shell(tc.shell, tc.script); !slices.Equal(got, one) {
			t.Errorf("%s completes exec's node to %q, want %q", tc.shell, got, one)
		}
	}
	if got := shell("bash", `source <(xdplab completion bash); COMP_WORDS=(xdplab up pac); COMP_CWORD=2; _xdplab; printf "%s\n" "${COMPREPLY[@]}"`); !slices.Equal(got, []string{"packet_counter"}) {
		t.Errorf("bash completes up pac to %q", got)
	}
	if got := shell("zsh", `compdef() { :; }; compadd() { [[ $1 == -a ]] && print -l -- "${(@P)2}"; }; _files() { print FILES; }; `+
		`source <(xdplab completion zsh); words=(xdplab exec node1 -- ""); CURRENT=5; _xdplab`); !slices.Equal(got, []string{"FILES"}) {
		t.Errorf("zsh does not fall back to files for exec's command: %q", got)
	}
	if got := shell("fish", `source (xdplab completion fish | psub); complete -C "xdplab sta"`); !slices.Equal(got, []string{"status"}) {
		t.Errorf("fish completes sta to %q", got)
	}

	mustSucceed(t, xdplab(t, inst, "up", "xdp_dump"))
	two := []string{"packet_counter/host", "packet_counter/node1", "xdp_dump/host", "xdp_dump/node1"}
	if got := candidates(t, nil, "exec", "--instance", inst, ""); !slices.Equal(got, two) {
		t.Errorf("with two labs up exec completes to %q, want %q", got, two)
	}
	mustSucceed(t, xdplab(t, inst, "down"))
}
