package labs_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/provenance"
	"github.com/xdplab/xdplab/internal/state"
	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
)

// TestClassView: three instances recorded in a state directory, one busy,
// read into the class view and printed one aligned line per lab.
func TestClassView(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	embedded := provenance.Embedded([]byte("program"))
	obj := provenance.Origin{Kind: provenance.KindObj, Obj: "/home/bob/fw.o", SHA256: strings.Repeat("9f", 32)}
	write := func(inst string, rec state.Lab) {
		t.Helper()
		rec.Instance = inst
		if err := (state.Store{Dir: dir, Instance: inst}).Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	write("alice", state.Lab{Lab: "packet_counter", Phase: state.PhaseUp, Mode: "generic", Created: at,
		Owner: &provenance.User{Name: "alice", UID: 1001}, Origin: &embedded,
		LastCheck: &state.Check{Verdict: "pass", Passed: 7, Total: 7, At: at.Add(-5 * time.Minute), User: "alice"}})
	write("bob", state.Lab{Lab: "basic_firewall", Phase: state.PhaseUp, Mode: "native", Created: at,
		Owner: &provenance.User{Name: "bob", UID: 1002}, Origin: &obj,
		LastCheck: &state.Check{Verdict: "fail", Passed: 3, Total: 5, At: at.Add(-90 * time.Second)}})
	write("bob", state.Lab{Lab: "sockex1", Phase: state.PhaseUp, Created: at, Owner: &provenance.User{Name: "bob", UID: 1002}, Origin: &embedded})
	write("carol-longer-name", state.Lab{Lab: "xdp_dump", Phase: state.PhaseDeploying, Mode: "generic", Created: at,
		Owner: &provenance.User{Name: "carol", UID: 1003}, Origin: &embedded})
	// carol's up is in progress: the view does not wait for it.
	lk, err := (state.Store{Dir: dir, Instance: "carol-longer-name"}).Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()

	r := &labs.Runner{Registry: course.Registry(), Instance: "whoever", StateDir: dir}
	class, err := r.Class()
	if err != nil {
		t.Fatal(err)
	}
	if len(class.Instances) != 3 {
		t.Fatalf("instances: %+v", class.Instances)
	}
	bob := class.Instances[1]
	if bob.Instance != "bob" || len(bob.Labs) != 2 || bob.Labs[0].Lab != "basic_firewall" || bob.Labs[1].Lab != "sockex1" {
		t.Fatalf("bob, in course order: %+v", bob)
	}
	if l := bob.Labs[0]; l.State != labs.CondUp || l.Mode != "native" || l.Owner.Name != "bob" || *l.Origin != obj || l.LastCheck.Verdict != "fail" {
		t.Errorf("bob's basic_firewall: %+v", l)
	}
	carol := class.Instances[2]
	if carol.Busy != strconv.Itoa(os.Getpid()) || carol.Labs[0].State != labs.CondBusy {
		t.Errorf("carol is busy: %+v", carol)
	}

	var b bytes.Buffer
	labs.WriteClass(&b, class, at)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	// Each row, cell by cell, and every cell starting under its heading.
	pid := strconv.Itoa(os.Getpid())
	rows := [][]string{
		{"INSTANCE", "LAB", "STEP", "MODE", "OWNER", "STATE", "LAST CHECK", "PROGRAM"},
		{"alice", "packet_counter", "base", "generic", "alice", "up", "PASS 7/7 5m ago", embedded.String()},
		{"bob", "basic_firewall", "base", "native", "bob", "up", "FAIL 3/5 1m ago", "obj /home/bob/fw.o (sha256 9f9f9f9f9f9f)"},
		{"bob", "sockex1", "base", "-", "bob", "up", "never", embedded.String()},
		{"carol-longer-name", "xdp_dump", "base", "generic", "carol", "busy (pid " + pid + ")", "never", embedded.String()},
	}
	if len(lines) != len(rows)+2 {
		t.Fatalf("class view:\n%s", b.String())
	}
	for i, row := range rows {
		at := 0
		for j, cell := range row {
			col := strings.Index(lines[0], rows[0][j])
			if got := lines[i][col:]; !strings.HasPrefix(got, cell) || col < at {
				t.Errorf("line %d, column %s: %q does not start with %q\n%s", i, rows[0][j], got, cell, b.String())
				break
			}
			at = col + len(cell)
		}
	}
	if want := "3 instances, 4 labs (3 up); last checks: 1 pass, 1 fail, 0 error, 2 never checked"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}

	var empty bytes.Buffer
	labs.WriteClass(&empty, &labs.Class{}, at)
	if empty.String() != "no instance has anything up on this machine\n" {
		t.Errorf("empty class: %q", empty.String())
	}
}
