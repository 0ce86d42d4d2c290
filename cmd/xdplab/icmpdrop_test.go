package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdplab/xdplab/internal/testutils"
)

// systemPing runs ping(8) inside a namespace, as the intro runs it on the
// host, and returns its summary line ("3 packets transmitted, 0 received,
// ..."). ping exits 1 when nothing answers, which is what the lab is about.
func systemPing(t *testing.T, ns, dst string) string {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "1", dst).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "packets transmitted") {
			return line
		}
	}
	t.Fatalf("ping %s in %s printed no summary:\n%s", dst, ns, out)
	return ""
}

// TestIcmpDropAcceptance walks issue 13's icmp_drop list with the system's
// tools as witnesses: ping 127.0.0.1 in node1 is answered in the bare
// topology and not once icmp_drop is on node1's lo (ip shows it there, and
// not on the machine's own lo); check passes; the veth1 step, in native
// mode, stops the host's pings to node1 and passes; `run` takes the
// learner's own object; down leaves nothing.
func TestIcmpDropAcceptance(t *testing.T) {
	testutils.RequirePrivileged(t)
	requireTool(t, "ping")
	requireTool(t, "ip")
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	node1, host := inst+"-icmp_drop-node1", inst+"-icmp_drop-host"
	rootLo := run(t, "ip", "-d", "link", "show", "lo")

	mustSucceed(t, xdplab(t, inst, "up", "icmp_drop", "--bare"))
	if got := systemPing(t, node1, "127.0.0.1"); !strings.Contains(got, " 3 received") {
		t.Errorf("before icmp_drop, ping 127.0.0.1 in node1: %s", got)
	}
	mustSucceed(t, xdplab(t, inst, "down"))

	up := mustSucceed(t, xdplab(t, inst, "up", "icmp_drop"))
	wantOut(t, up, "icmp_drop is up (generic mode, instance "+inst+")")
	if lo := run(t, "ip", "-n", node1, "link", "show", "lo"); !strings.Contains(lo, "prog/xdp id") {
		t.Errorf("ip shows no XDP program on node1's lo:\n%s", lo)
	}
	if got := systemPing(t, node1, "127.0.0.1"); !strings.Contains(got, " 0 received") {
		t.Errorf("with icmp_drop, ping 127.0.0.1 in node1: %s", got)
	}
	chk := mustSucceed(t, xdplab(t, inst, "check", "icmp_drop"))
	wantOut(t, chk, "PASS  without icmp_drop, 3 pings 127.0.0.1 in node1 are answered", "PASS  with icmp_drop, 3 pings 127.0.0.1 in node1 get no reply",
		"PASS  5 UDP datagrams node1 -> 127.0.0.1:9999 arrive", "PASS  TCP exchange node1 -> 127.0.0.1:8888 completes",
		"PASS  the machine's own lo runs no program of the lab")
	// The check put xdp_pass in the program's place for a while: icmp_drop is back.
	if got := systemPing(t, node1, "127.0.0.1"); !strings.Contains(got, " 0 received") {
		t.Errorf("after check, ping 127.0.0.1 in node1: %s", got)
	}
	mustSucceed(t, xdplab(t, inst, "down"))

	mustSucceed(t, xdplab(t, inst, "up", "icmp_drop", "--step", "veth1", "--mode", "native"))
	if v1 := run(t, "ip", "-n", node1, "link", "show", "veth1"); !strings.Contains(v1, "xdpdrv") && !strings.Contains(v1, "prog/xdp id") {
		t.Errorf("ip shows no native XDP program on node1's veth1:\n%s", v1)
	}
	if got := systemPing(t, host, "192.168.0.2"); !strings.Contains(got, " 0 received") {
		t.Errorf("with icmp_drop on veth1, ping from host: %s", got)
	}
	wantOut(t, mustSucceed(t, xdplab(t, inst, "check", "icmp_drop")), "icmp_drop (instance "+inst+", native mode)",
		"PASS  with icmp_drop, 3 pings host -> 192.168.0.2 get no reply")
	mustSucceed(t, xdplab(t, inst, "down"))

	obj, _ := filepath.Abs(filepath.Join("..", "..", "labs", "icmp_drop", "testdata", "correct", "base", "intro.o"))
	wantOut(t, mustSucceed(t, xdplab(t, inst, "run", "icmp_drop", "--obj", obj)), "program: obj "+obj, "1 passed, 0 failed")

	if after := run(t, "ip", "-d", "link", "show", "lo"); after != rootLo {
		t.Errorf("the machine's own lo changed:\nbefore:\n%s\nafter:\n%s", rootLo, after)
	}
}

// TestIcmpDropCheckWatchStep is the learner's loop on a step: `check
// icmp_drop --watch` on the veth1 step up from its solution's source
// regrades on every save: a program that drops everything fails with its
// hint, the solution passes again, and Ctrl-C leaves the lab up.
func TestIcmpDropCheckWatchStep(t *testing.T) {
	testutils.RequirePrivileged(t)
	if help := xdplab(t, "x", "help", "check"); !strings.Contains(help.stdout, "--watch") {
		t.Skip("this build's check has no --watch yet")
	}
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	ws := filepath.Join(t.TempDir(), "ws")
	mustSucceed(t, xdplabCmd(t, exec.Command(bin, "init", "icmp_drop", ws, "--step", "veth1", "--solution")))
	src := filepath.Join(ws, "icmp_drop.c")
	solution, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, xdplab(t, inst, "up", "icmp_drop", "--step", "veth1", "--src", src))

	cmd := exec.Command(bin, "check", "icmp_drop", "--watch", "--instance", inst)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	var out testutils.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	// Each round ends in its verdict line, "15:09:22  PASS 10/10 (1.5 s)";
	// the n-th one is waited for.
	verdicts := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  (PASS|FAIL|ERROR|BUILD FAILED|LOAD FAILED)`)
	rounds := func(n int, verdict string) string {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			s := out.String()
			if m := verdicts.FindAllStringSubmatch(s, -1); len(m) >= n {
				if m[n-1][1] != verdict {
					t.Fatalf("round %d is %s, want %s:\n%s", n, m[n-1][1], verdict, s)
				}
				return s
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no round %d within 90s:\n%s", n, out.String())
		return ""
	}
	rounds(1, "PASS")
	mistake := strings.Replace(string(solution), "return XDP_PASS;\n}", "return XDP_DROP;\n}", 1)
	if err := os.WriteFile(src, []byte(mistake), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := rounds(2, "FAIL"); !strings.Contains(s, "drops every IPv4 packet, whatever its protocol") {
		t.Errorf("the mistake's round lacks its hint:\n%s", s)
	}
	if err := os.WriteFile(src, solution, 0o644); err != nil {
		t.Fatal(err)
	}
	rounds(3, "PASS")
	syscall.Kill(cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("check --watch did not end on Ctrl-C")
	}
	wantOut(t, mustSucceed(t, xdplab(t, inst, "status")), "icmp_drop")
}
