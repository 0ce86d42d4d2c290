package grade_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/xdplab/xdplab/internal/testutils"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// pinEnv is the Env of a lab "grade" on a fresh instance, up in mode, with
// its pin directory made, and removed when the test ends.
func pinEnv(t *testing.T, mode labs.Mode) *labs.Env {
	t.Helper()
	inst := testutils.Instance(t)
	dir := filepath.Join(labs.DefaultPinRoot, inst, "grade")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dir)) })
	return &labs.Env{Instance: inst, Lab: "grade", PinDir: dir, Options: labs.Options{Mode: mode}}
}

func TestOpenProgram(t *testing.T) {
	testutils.RequirePrivileged(t)
	env := pinEnv(t, "")
	inst := env.Instance
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "keep_nothing", Type: ebpf.SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Pin(env.Pin("prog_keep_nothing")); err != nil {
		t.Fatal(err)
	}

	p, err := grade.OpenProgram(env, "prog_keep_nothing")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if info, err := p.Info(); err != nil || info.Name != "keep_nothing" {
		t.Errorf("opened %v (%v), want keep_nothing", info, err)
	}

	_, err = grade.OpenProgram(env, "prog_gone")
	want := fmt.Sprintf("program pin %s is gone: run `xdplab down grade --instance %s` and `xdplab up grade --instance %s` again (",
		env.Pin("prog_gone"), inst, inst)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("missing pin: %v\nwant %s...", err, want)
	}
	if !errors.Is(err, labs.ErrEnvironment) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing pin: %v is not ErrEnvironment wrapping ErrNotExist", err)
	}
}
