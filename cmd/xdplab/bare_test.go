package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdplab/xdplab/internal/testutils"
)

// The learner's own loader (testdata/loader), built once for the bare-mode
// tests as a learner builds theirs.
var (
	loaderOnce sync.Once
	loaderBin  string
	loaderErr  error
)

func testLoader(t *testing.T) string {
	t.Helper()
	loaderOnce.Do(func() {
		loaderBin = filepath.Join(filepath.Dir(bin), "loader")
		cmd := exec.Command("go", "build", "-o", loaderBin, "./testdata/loader")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			loaderErr = fmt.Errorf("build the test loader: %v\n%s", err, out)
		}
	})
	if loaderErr != nil {
		t.Fatal(loaderErr)
	}
	return loaderBin
}

// labObject is a lab's embedded object, as committed: what a learner who
// compiled the lab's C with the lab's flags would have.
func labObject(lab string) string {
	p, _ := filepath.Abs(filepath.Join("..", "..", "labs", lab, "bpf_bpfel.o"))
	return p
}

// loader is the test loader running inside a node, started with `xdplab
// exec` as a learner starts theirs; exec replaces xdplab with it, so its
// pid is the loader's.
type loader struct {
	cmd    *exec.Cmd
	stderr strings.Builder
}

// startLoader runs the loader in node1 and waits until it says it
// attached. The test stops it with stop; the cleanup kills it by its pid
// if the test did not.
func startLoader(t *testing.T, inst string, args ...string) *loader {
	t.Helper()
	l := &loader{}
	l.cmd = exec.Command(bin, append([]string{"exec", "--instance", inst, "node1", "--", testLoader(t)}, args...)...)
	l.cmd.Stderr = &l.stderr
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.stop(t, syscall.SIGTERM) })
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "press Ctrl-C") {
				ready <- nil
				io.Copy(io.Discard, out)
				return
			}
		}
		ready <- fmt.Errorf("the loader ended before it attached: %v", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			l.cmd.Wait()
			t.Fatalf("%v; stderr: %s", err, l.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the loader did not attach within 20s; stderr: %s", l.stderr.String())
	}
	return l
}

// stop sends the loader a signal by its pid (SIGTERM as Ctrl-C would end
// it, or SIGKILL) and waits until it has exited: its programs are detached
// then, whether it detached them or its links died with it.
func (l *loader) stop(t *testing.T, sig syscall.Signal) {
	if l.cmd.ProcessState != nil {
		return
	}
	syscall.Kill(l.cmd.Process.Pid, sig)
	done := make(chan error, 1)
	go func() { done <- l.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && sig != syscall.SIGKILL {
			t.Errorf("loader: %v; stderr: %s", err, l.stderr.String())
		}
	case <-time.After(10 * time.Second):
		syscall.Kill(l.cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Errorf("the loader did not exit on SIGTERM; killed it")
	}
}

// wantFail asserts exit code 1 (an expectation failed) and output naming
// the failure.
func wantFail(t testing.TB, r result, contains ...string) {
	t.Helper()
	wantExit(t, r, 1, "stdout", r.stdout, contains...)
}

// wantOut asserts what a command that succeeded printed.
func wantOut(t testing.TB, r result, contains ...string) {
	t.Helper()
	wantExit(t, r, 0, "stdout", r.stdout, contains...)
}

// upBare brings a lab up bare on a fresh instance that the test takes down
// again, and returns the instance and what up printed.
func upBare(t *testing.T, lab string) (string, result) {
	t.Helper()
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	return inst, mustSucceed(t, xdplab(t, inst, "up", lab, "--bare"))
}

// TestBareXDPLabs is issue 11's bring-your-own-loader path for every XDP
// lab: up --bare builds the topology only; check fails and shows how to
// attach; the learner's loader attaches the lab's program from inside
// node1 and check passes with the lab's own expectations; with the loader
// gone, check fails again and says nothing is attached.
func TestBareXDPLabs(t *testing.T) {
	for _, tc := range []struct {
		lab    string
		ifaces []string
		args   []string
		// skipped are expectations a bare lab cannot check, each said so.
		skipped []string
	}{
		{lab: "icmp_drop", ifaces: []string{"lo"},
			skipped: []string{"SKIP  without icmp_drop, 3 pings 127.0.0.1 in node1 are answered: not checked: in a bare lab your loader holds the attachment"}},
		{lab: "packet_counter", ifaces: []string{"veth1"}},
		{lab: "xdp_dump", ifaces: []string{"veth1"}},
		{lab: "basic_firewall", ifaces: []string{"veth1"}},
		{lab: "redirect", ifaces: []string{"veth1", "veth2"}, args: []string{"-program", "xdp_test"},
			skipped: []string{"SKIP  without xdp_test, 3 pings host -> 192.168.1.5 are answered by node2: not checked: in a bare lab your loader holds the attachment"}},
		{lab: "xdpcap", ifaces: []string{"veth1"},
			skipped: []string{"SKIP  --entry sees the whole mix", "SKIP  the lab program is back on its link after --entry: not checked: --entry swaps a front program"}},
	} {
		t.Run(tc.lab, func(t *testing.T) {
			inst, up := upBare(t, tc.lab)
			node1 := inst + "-" + tc.lab + "-node1"
			wantOut(t, up, tc.lab+" is up bare (instance "+inst+")",
				"sudo xdplab exec --instance "+inst+" node1 -- ./your-loader "+tc.ifaces[0],
				"sudo ip -n "+node1+" link set dev "+tc.ifaces[0]+" xdpgeneric obj "+tc.lab+".o sec xdp")
			if link := run(t, "ip", "-n", node1, "link", "show", tc.ifaces[0]); strings.Contains(link, "prog/xdp") {
				t.Errorf("up --bare attached something:\n%s", link)
			}
			st := mustSucceed(t, xdplab(t, inst, "status"))
			wantOut(t, st, tc.lab+" (instance "+inst+", bare)", "attached at node1/"+tc.ifaces[0]+": nothing")

			nothing := "FAIL  an XDP program is attached at node1/" + tc.ifaces[0] + ": expected an XDP program"
			attach := "`sudo xdplab exec --instance " + inst + " node1 -- ./your-loader " + tc.ifaces[0] + "`"
			wantFail(t, xdplab(t, inst, "check", tc.lab), nothing, "observed nothing is attached", attach)

			args := append([]string{"-elf", labObject(tc.lab)}, tc.args...)
			for _, iface := range tc.ifaces {
				args = append(args, "-iface", iface)
			}
			l := startLoader(t, inst, args...)
			st = mustSucceed(t, xdplab(t, inst, "status"))
			wantOut(t, st, tc.lab+" (instance "+inst+", bare, generic mode)", "attached at node1/"+tc.ifaces[0]+": xdp ")
			chk := mustSucceed(t, xdplab(t, inst, "check", tc.lab))
			wantOut(t, chk, "PASS  an XDP program is attached at node1/"+tc.ifaces[0])
			wantOut(t, chk, tc.skipped...)
			if len(tc.skipped) > 0 {
				wantOut(t, chk, fmt.Sprintf("%d skipped", len(tc.skipped)))
			} else if strings.Contains(chk.stdout, "SKIP") {
				t.Errorf("nothing should be skipped:\n%s", chk.stdout)
			}

			id := regexp.MustCompile(`: xdp \S+ id (\d+) `).FindStringSubmatch(st.stdout)
			if id == nil {
				t.Fatalf("status shows no program id:\n%s", st.stdout)
			}
			l.stop(t, syscall.SIGKILL)
			wantFail(t, xdplab(t, inst, "check", tc.lab), nothing, "observed nothing is attached", attach)
			mustSucceed(t, xdplab(t, inst, "down"))
			// Killed, the loader's links and its program went with it.
			n, _ := strconv.Atoi(id[1])
			if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(n)); err == nil {
				p.Close()
				t.Errorf("program id %d is still loaded after the loader was killed", n)
			}
		})
	}
}

// TestBareIproute2 attaches packet_counter's object the third way, with
// iproute2 from outside the node, and detaches it the same way.
func TestBareIproute2(t *testing.T) {
	requireTool(t, "ip")
	inst, _ := upBare(t, "packet_counter")
	node1 := inst + "-packet_counter-node1"
	run(t, "ip", "-n", node1, "link", "set", "dev", "veth1", "xdpgeneric", "obj", labObject("packet_counter"), "sec", "xdp")
	chk := mustSucceed(t, xdplab(t, inst, "check", "packet_counter"))
	wantOut(t, chk, "IPPROTO_ICMP counts the 3 echo requests: expected 3, observed 3", "10/10 expectations met")

	// watch reads the learner's map too, as the tutorial's loop does.
	mustSucceed(t, xdplab(t, inst, "traffic", "ping", "--from", "host", "--to", "192.168.0.2", "-c", "2"))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	watch := exec.CommandContext(ctx, bin, "watch", "packet_counter", "--instance", inst)
	watch.Cancel = func() error { return watch.Process.Signal(os.Interrupt) }
	if out, _ := watch.Output(); !strings.Contains(string(out), "IPPROTO_ICMP : 5") {
		t.Errorf("watch on a bare lab does not show the 3 + 2 echo requests:\n%s", out)
	}

	run(t, "ip", "-n", node1, "link", "set", "dev", "veth1", "xdpgeneric", "off")
	wantFail(t, xdplab(t, inst, "check", "packet_counter"), "observed nothing is attached")
	mustSucceed(t, xdplab(t, inst, "down"))
}

// TestBareCapture: `capture xdpcap` on a bare lab has no hook of xdplab's
// to open; it says so, with the id of the learner's hook and how to pin
// it, and the pin made that way is a hook capture accepts.
func TestBareCapture(t *testing.T) {
	requireTool(t, "bpftool")
	inst, _ := upBare(t, "xdpcap")
	wantError(t, xdplab(t, inst, "capture", "xdpcap"), "map xdpcap_hook: nothing is attached in bare lab xdpcap: attach your program first (`xdplab check xdpcap --instance "+inst+"` shows where and how)")
	startLoader(t, inst, "-elf", labObject("xdpcap"), "-iface", "veth1")
	r := xdplab(t, inst, "capture", "xdpcap")
	wantError(t, r, "xdpcap is bare, so xdplab pinned no hook: the hook is your program's map xdpcap_hook (id ")
	id := regexp.MustCompile(`bpftool map pin id (\d+) `).FindStringSubmatch(r.stderr)
	if id == nil {
		t.Fatalf("no bpftool command with the map id:\n%s", r)
	}
	pin := "/sys/fs/bpf/" + inst + "_xdpcap_hook"
	run(t, "bpftool", "map", "pin", "id", id[1], pin)
	t.Cleanup(func() { os.Remove(pin) })
	c := mustSucceed(t, xdplab(t, inst, "capture", pin, "--clear-stale"))
	wantOut(t, c, "no leftovers of killed captures at "+pin)
	if err := os.Remove(pin); err != nil {
		t.Error(err)
	}
	mustSucceed(t, xdplab(t, inst, "check", "xdpcap"))
}

// TestBareWrongProgram attaches packet_counter's program to a bare
// xdp_dump: the check fails on the missing map by name, with a hint, and
// does not run the lab's expectations on the wrong program.
func TestBareWrongProgram(t *testing.T) {
	inst, _ := upBare(t, "xdp_dump")
	startLoader(t, inst, "-elf", labObject("packet_counter"), "-iface", "veth1")
	r := xdplab(t, inst, "check", "xdp_dump")
	wantFail(t, r, "observed packet_count id", "with map protocols",
		"hint: the program at node1/veth1 has no map named perfmap: the check reads it by that name", "0/1 expectations met")
}

// TestBareSockex1 runs the learner's sockex1 loader in two bare instances
// at once: each check finds its own instance's filter (by name, held by a
// process with a packet socket in its node) and its own counts, while the
// loaders run; with its loader gone, a check says no filter runs.
func TestBareSockex1(t *testing.T) {
	var insts []string
	var loaders []*loader
	for range 2 {
		inst, up := upBare(t, "sockex1")
		wantOut(t, up, "node1/lo: a socket filter named bpf_prog1 with map my_map", "sudo xdplab exec --instance "+inst+" node1 -- ./your-loader lo")
		wantFail(t, xdplab(t, inst, "check", "sockex1"), "observed nothing is attached",
			"no process runs a socket filter named bpf_prog1 on a packet socket in node1")
		insts = append(insts, inst)
		loaders = append(loaders, startLoader(t, inst, "-elf", labObject("sockex1"), "-socket", "lo"))
	}
	for i, inst := range insts {
		st := mustSucceed(t, xdplab(t, inst, "status"))
		wantOut(t, st, "attached at node1/lo: socket bpf_prog1 id ", fmt.Sprintf("(pid %d)", loaders[i].cmd.Process.Pid))
		chk := mustSucceed(t, xdplab(t, inst, "check", "sockex1"))
		wantOut(t, chk, fmt.Sprintf("(pid %d) with map my_map", loaders[i].cmd.Process.Pid),
			"ICMP counts 5 x (98 request + 98 reply) bytes: expected 980, observed 980",
			"PASS  the socket keeps nothing: bpf_prog1 returns 0: expected no frame, observed no frame", "9/9 expectations met")
	}
	loaders[0].stop(t, syscall.SIGTERM)
	wantFail(t, xdplab(t, insts[0], "check", "sockex1"), "observed nothing is attached")

	// A second loader in the same node: the newest filter is graded, and
	// status names the other one.
	newer := startLoader(t, insts[1], "-elf", labObject("sockex1"), "-socket", "lo")
	wantOut(t, mustSucceed(t, xdplab(t, insts[1], "status")),
		fmt.Sprintf("(pid %d)", newer.cmd.Process.Pid), "also running: socket bpf_prog1 id ", fmt.Sprintf("(pid %d) (not graded: the newest is)", loaders[1].cmd.Process.Pid))
	wantOut(t, mustSucceed(t, xdplab(t, insts[1], "check", "sockex1")), fmt.Sprintf("(pid %d) with map my_map", newer.cmd.Process.Pid))
	for _, inst := range insts {
		mustSucceed(t, xdplab(t, inst, "down"))
	}
}

// TestBareSockex1Mistakes: a learner's loader runs a filter whose mistakes
// lo alone does not show (an inverted direction test, a return value that
// keeps every packet). The check cannot read the learner's socket on lo,
// so it runs the learner's program by id on a socket of its own on veth1,
// which the learner's socket never sees, and both mistakes fail there.
func TestBareSockex1Mistakes(t *testing.T) {
	inst, _ := upBare(t, "sockex1")
	obj, _ := filepath.Abs(filepath.Join("..", "..", "labs", "sockex1", "testdata", "sockex1_inverted_keeps.o"))
	startLoader(t, inst, "-elf", obj, "-socket", "lo")
	wantFail(t, xdplab(t, inst, "check", "sockex1"),
		"PASS  ICMP counts 5 x (98 request + 98 reply) bytes: expected 980, observed 980",
		"FAIL  the socket keeps nothing: bpf_prog1 returns 0: expected no frame, observed 3 frames; 3 coming in, kept whole",
		"FAIL  on node1/veth1, UDP counts the bytes of the 2 datagrams node1 sends, not of the 3 it receives: expected 484, observed 276",
		"the PACKET_OUTGOING test is inverted")
}

// TestBareRefusesLoadOptions: --bare loads nothing, so the options that
// choose or prepare the lab's program are usage errors, before anything
// is created (the instance's cleanup checks that).
func TestBareRefusesLoadOptions(t *testing.T) {
	testutils.RequirePrivileged(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "packet_counter", "--bare", "--obj", labObject("packet_counter")}, "--bare builds the topology only and loads nothing, so --obj does not apply"},
		{[]string{"up", "packet_counter", "--bare", "--mode", "native"}, "so --mode does not apply"},
		{[]string{"up", "basic_firewall", "--bare", "--drop", "192.168.0.3"}, "so --drop does not apply: your own loader loads the program"},
	} {
		t.Run(tc.args[len(tc.args)-2], func(t *testing.T) {
			inst := testutils.Instance(t)
			wantError(t, xdplab(t, inst, tc.args...), tc.want, "xdplab up "+tc.args[1]+" --bare --instance "+inst)
		})
	}
}

// firewallMaps reads a bare basic_firewall's maps through the program
// attached to node1/veth1 (found with ip, opened by id): how many rules
// blacklist holds and the sum of every counter of matches.
func firewallMaps(t *testing.T, inst string) (rules int, counted uint64) {
	t.Helper()
	link := run(t, "ip", "-n", inst+"-basic_firewall-node1", "link", "show", "veth1")
	id := regexp.MustCompile(`prog/xdp id (\d+)`).FindStringSubmatch(link)
	if id == nil {
		t.Fatalf("nothing attached to veth1:\n%s", link)
	}
	n, _ := strconv.Atoi(id[1])
	prog, err := ebpf.NewProgramFromID(ebpf.ProgramID(n))
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := info.MapIDs()
	for _, mid := range ids {
		m, err := ebpf.NewMapFromID(mid)
		if err != nil {
			t.Fatal(err)
		}
		mi, _ := m.Info()
		var key, val []byte
		var vals [][]byte
		switch mi.Name {
		case "blacklist":
			for it := m.Iterate(); it.Next(&key, &val); {
				rules++
			}
		case "matches":
			for it := m.Iterate(); it.Next(&key, &vals); {
				for _, v := range vals {
					counted += binary.NativeEndian.Uint64(v)
				}
			}
		}
		m.Close()
	}
	return rules, counted
}

// TestBareFirewallCheckKilled kills `check basic_firewall` on a bare lab
// at points across its run: the check adds a rule of its own to the
// learner's blacklist and addresses to the lab for a while, and the next
// command (fw list) must take them back through the learner's maps, found
// by name as the check found them.
func TestBareFirewallCheckKilled(t *testing.T) {
	inst, _ := upBare(t, "basic_firewall")
	startLoader(t, inst, "-elf", labObject("basic_firewall"), "-iface", "veth1")
	addrs := func() string {
		return run(t, "ip", "-n", inst+"-basic_firewall-host", "-4", "-br", "addr") + run(t, "ip", "-n", inst+"-basic_firewall-node1", "-4", "-br", "addr")
	}
	base := addrs()
	check := []string{"check", "basic_firewall", "--instance", inst}
	full := duration(t, check...)
	undone := 0
	for at := 100 * time.Millisecond; at < full; at += full / 8 {
		killAt(t, at, check...)
		r := mustSucceed(t, xdplab(t, inst, "fw", "list"))
		if strings.Contains(r.stderr, "took back the temporary changes") {
			undone++
		}
		if rules, counted := firewallMaps(t, inst); rules != 0 || counted != 0 {
			t.Errorf("check killed at %v of %v, then fw list: %d rules, %d counted; want the learner's empty blacklist and zero counters", at, full, rules, counted)
		}
		if got := addrs(); got != base {
			t.Errorf("check killed at %v: addresses\n%s\nwant\n%s", at, got, base)
		}
	}
	if undone == 0 {
		t.Errorf("no kill point left a change to take back: the sweep tested nothing")
	}
	mustSucceed(t, xdplab(t, inst, "check", "basic_firewall"))
}
