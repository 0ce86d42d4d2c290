package doctor

import (
	"errors"
	"strings"
	"testing"
)

// TestVariant: doctor says which way of writing each tracing lab runs
// here, from the tracepoints it found and kprobe support.
func TestVariant(t *testing.T) {
	l := TracingLab{Name: "hello", Tracepoints: []string{"syscalls/sys_enter_clone"}, Kprobes: []string{"__x64_sys_clone"}}
	gone := map[string]error{"syscalls/sys_enter_clone": errors.New("no such tracepoint")}
	for _, c := range []struct {
		kprobes bool
		missing map[string]error
		level   Level
		detail  string
	}{
		{false, nil, OK, "tracepoint variant (syscalls/sys_enter_clone): runs; kprobe variant (__x64_sys_clone): refused, no kprobes"},
		{true, nil, OK, "tracepoint variant (syscalls/sys_enter_clone): runs; kprobe variant (__x64_sys_clone): runs with --obj"},
		{true, gone, Warn, "tracepoint variant: cannot run, no syscalls/sys_enter_clone; kprobe variant (__x64_sys_clone): runs with --obj"},
		{false, gone, Fail, "tracepoint variant: cannot run, no syscalls/sys_enter_clone; kprobe variant (__x64_sys_clone): refused, no kprobes"},
	} {
		it := variant(l, c.kprobes, c.missing, nil)
		if it.Name != "lab hello" || it.Level != c.level || it.Detail != c.detail {
			t.Errorf("kprobes %v, missing %v: %+v, want level %s, detail %q", c.kprobes, c.missing, it, c.level, c.detail)
		}
		if it.Level == Warn && !strings.Contains(it.Fix, "sudo xdplab up hello --obj FILE.o") {
			t.Errorf("warn without the command: %q", it.Fix)
		}
	}
}

// TestVariantUnknownWithoutRoot: a tracepoint tracefs did not let a user
// read leaves the lab's variant not checked, never failed.
func TestVariantUnknownWithoutRoot(t *testing.T) {
	l := TracingLab{Name: "hello", Tracepoints: []string{"syscalls/sys_enter_clone"}, Kprobes: []string{"__x64_sys_clone"}}
	it := variant(l, false, nil, map[string]bool{"syscalls/sys_enter_clone": true})
	if it.Level != Skip || !strings.Contains(it.Detail, "needs the privileges above") {
		t.Errorf("variant without root: %+v", it)
	}
}
