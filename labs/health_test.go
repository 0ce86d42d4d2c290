package labs

import (
	"testing"

	"github.com/xdplab/xdplab/internal/state"
)

// TestUpFlags: the fix for a damaged lab rebuilds it as it was brought up.
func TestUpFlags(t *testing.T) {
	for _, tc := range []struct {
		rec  state.Lab
		want string
	}{
		{state.Lab{Mode: "generic"}, ""},
		{state.Lab{Mode: "native"}, " --mode native"},
		{state.Lab{Mode: "generic", Obj: "/home/me/prog.o"}, " --obj /home/me/prog.o"},
		{state.Lab{Mode: "generic", Obj: "/home/me/my prog's.o"}, ` --obj '/home/me/my prog'\''s.o'`},
		// Built from --src: built again from it, the object may be stale.
		{state.Lab{Mode: "generic", Obj: "/home/me/prog.o", Src: "/home/me/prog.c"}, " --src /home/me/prog.c"},
		{state.Lab{Mode: "native", Values: map[string][]string{"drop": {"10.0.0.0/8", "192.168.0.3"}}},
			" --mode native --drop 10.0.0.0/8 --drop 192.168.0.3"},
	} {
		if got := upFlags(tc.rec); got != tc.want {
			t.Errorf("upFlags(%+v) = %q, want %q", tc.rec, got, tc.want)
		}
	}
}
