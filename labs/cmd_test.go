package labs_test

import (
	"strings"
	"testing"

	"github.com/xdplab/xdplab/labs"
)

// TestCmdCarriesInstance: a hint pasted from another instance's output acts on
// that instance; the default instance needs no flag.
func TestCmdCarriesInstance(t *testing.T) {
	for _, tc := range []struct{ instance, args, want string }{
		{"xdplab", "down redirect", "`xdplab down redirect`"},
		{"", "status", "`xdplab status`"},
		{"class1", "up <lab>", "`xdplab up <lab> --instance class1`"},
	} {
		if got := labs.Cmd(tc.instance, tc.args); got != tc.want {
			t.Errorf("Cmd(%q, %q) = %s, want %s", tc.instance, tc.args, got, tc.want)
		}
		r := &labs.Runner{Instance: tc.instance}
		if got := r.Cmd(tc.args); got != tc.want {
			t.Errorf("Runner{%q}.Cmd(%q) = %s, want %s", tc.instance, tc.args, got, tc.want)
		}
	}
	var out strings.Builder
	labs.WriteStatus(&out, &labs.Status{Instance: "class1"})
	if !strings.Contains(out.String(), "nothing is up (start a lab with `xdplab up <lab> --instance class1`)") {
		t.Errorf("status of an empty instance: %q", out.String())
	}
}
