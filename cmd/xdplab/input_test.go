package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xdplab/xdplab/internal/testutils"
)

// xdplabWithin runs xdplab with args and kills it after d, so a command that
// blocks fails its test instead of hanging it. d is a liveness bound, not a
// timing: a command that returns at all returns well within it.
func xdplabWithin(t *testing.T, d time.Duration, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second
	r := xdplabCmd(t, cmd)
	if ctx.Err() != nil {
		t.Errorf("xdplab %s still running after %v: killed\n%s", strings.Join(args, " "), d, r)
	}
	return r
}

// valueFlags walks every command of the app (subcommands too) and yields the
// command's path and each name of each flag that takes a value, so a flag
// added later is covered without editing the tests.
func valueFlags(t *testing.T) (paths [][]string, names []string) {
	t.Helper()
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, path...), c.Name)
			for _, f := range c.Flags {
				if _, isBool := f.(*cli.BoolFlag); isBool {
					continue
				}
				for _, n := range f.Names() {
					paths, names = append(paths, p), append(names, n)
				}
			}
			walk(p, c.Subcommands)
		}
	}
	app := newApp()
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			paths, names = append(paths, nil), append(names, n)
		}
	}
	walk(nil, app.Commands)
	if len(names) < 20 {
		t.Fatalf("found only %d value flags: the walk is broken", len(names))
	}
	return paths, names
}

// TestFlagWithoutValue walks every flag that takes a value, of every command
// and subcommand: given last, after a positional word, or empty, it is a
// usage error that names it. Before, a trailing flag was moved in front of
// the positional words and took the last one: `down packet_counter
// --instance` took down an instance named "packet_counter". The positional
// word and XDPLAB_INSTANCE are the test instance, so a misparse can only act
// on it.
func TestFlagWithoutValue(t *testing.T) {
	inst := testutils.Instance(t)
	env := []string{"XDPLAB_INSTANCE=" + inst}
	paths, names := valueFlags(t)
	for i, name := range names {
		typed := "--" + name
		if len(name) == 1 {
			typed = "-" + name
		}
		lines := [][]string{append(append([]string{}, paths[i]...), typed+"=")}
		if paths[i] == nil {
			lines = append(lines, []string{typed})
		} else {
			lines = append(lines, append(append([]string{}, paths[i]...), inst, typed))
		}
		for _, args := range lines {
			r := xdplabWithin(t, 30*time.Second, env, args...)
			if r.code != 2 || !strings.Contains(r.stderr, typed+" needs a value") || r.stdout != "" {
				t.Errorf("xdplab %s: want exit 2 and %q on stderr, nothing on stdout; got %s",
					strings.Join(args, " "), typed+" needs a value", r)
			}
		}
	}
	if left := testutils.Leftovers(inst); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestUnknownCommand: a mistyped command or subcommand gets a usage error
// with the closest name, not urfave/cli's "No help topic".
func TestUnknownCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command 'frobnicate' (`xdplab help` lists every command)"},
		{[]string{"stauts"}, "unknown command 'stauts': did you mean 'status'? (`xdplab help` lists every command)"},
		{[]string{"--instance", "t1", "chekc", "redirect"}, "unknown command 'chekc': did you mean 'check'?"},
		{[]string{"help", "frobnicate"}, "unknown command 'frobnicate'"},
		{[]string{"traffic", "bogus", "--to", "192.168.0.2"}, "unknown traffic subcommand 'bogus' (traffic has ping, tcp, udp)"},
		{[]string{"fw", "lst"}, "unknown fw subcommand 'lst': did you mean 'list'? (fw has list, add, del)"},
	} {
		r := xdplabWithin(t, 30*time.Second, nil, c.args...)
		wantError(t, r, c.want)
		if strings.Contains(r.stderr+r.stdout, "No help topic") {
			t.Errorf("xdplab %s still says No help topic:\n%s", strings.Join(c.args, " "), r)
		}
	}
}

// TestTrafficCountZero: -c 0 is refused like -c -1, before any namespace is
// looked at, and nothing is sent.
func TestTrafficCountZero(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	// Nothing up: the count is still what is wrong.
	wantError(t, xdplab(t, inst, "traffic", "ping", "--to", "192.168.0.2", "-c", "0"),
		"traffic ping: -c 0: want a count of at least 1 (the default is 3)")
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	for kind, to := range map[string]string{"ping": "192.168.0.2", "tcp": "192.168.0.2:8888", "udp": "192.168.0.2:9"} {
		r := xdplab(t, inst, "traffic", kind, "--to", to, "-c", "0")
		wantError(t, r, "traffic "+kind+": -c 0: want a count of at least 1")
		if r.stdout != "" {
			t.Errorf("traffic %s -c 0 sent something:\n%s", kind, r)
		}
	}
	mustSucceed(t, xdplab(t, inst, "down"))
}

// TestObjNotRegular: a FIFO, socket, device or directory given as --obj is
// refused at once, by what it is, and nothing is built. A FIFO used to block
// up in open(2) forever, deaf to Ctrl-C.
func TestObjNotRegular(t *testing.T) {
	testutils.RequirePrivileged(t)
	files := testutils.SpecialFiles(t)
	for _, args := range [][]string{{"up", "packet_counter"}, {"run", "packet_counter"}, {"up", "redirect"}, {"up", "basic_firewall"}} {
		inst := testutils.Instance(t)
		for _, f := range files {
			r := xdplabWithin(t, 30*time.Second, nil, append(args, "--obj", f.Path, "--instance", inst)...)
			wantError(t, r, "--obj "+f.Path+" is a "+f.Kind, "clang -O2 -g -target bpf")
			if strings.Contains(r.stderr, "not an ELF file") {
				t.Errorf("%s --obj %s is called not an ELF file:\n%s", strings.Join(args, " "), f.Path, r)
			}
			if left := testutils.Leftovers(inst); len(left) > 0 {
				t.Errorf("%s --obj %s left %v", strings.Join(args, " "), f.Path, left)
			}
		}
	}
}

// TestDownSaysWhatIsUp: `down LAB` for a lab that is not up says so and
// names the labs that are, instead of claiming nothing of the instance was
// up; and it leaves them up.
func TestDownSaysWhatIsUp(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	r := mustSucceed(t, xdplab(t, inst, "down", "redirect"))
	want := "redirect was not up in instance " + inst + "; packet_counter is (`xdplab down packet_counter --instance " + inst + "` takes it down)\n"
	if r.stdout != want {
		t.Errorf("down redirect with packet_counter up:\n got %q\nwant %q", r.stdout, want)
	}
	mustSucceed(t, xdplab(t, inst, "up", "xdp_dump"))
	r = mustSucceed(t, xdplab(t, inst, "down", "redirect"))
	want = "redirect was not up in instance " + inst + "; these labs are: packet_counter, xdp_dump (`xdplab down --all --instance " + inst + "` takes them all down)\n"
	if r.stdout != want {
		t.Errorf("down redirect with two labs up:\n got %q\nwant %q", r.stdout, want)
	}
	if l := mustSucceed(t, xdplab(t, inst, "list")); !strings.Contains(l.stdout, "packet_counter   up") || !strings.Contains(l.stdout, "xdp_dump         up") {
		t.Errorf("down redirect touched the labs that are up:\n%s", l.stdout)
	}
	mustSucceed(t, xdplab(t, inst, "down"))
	r = mustSucceed(t, xdplab(t, inst, "down", "redirect"))
	if want := "redirect was not up in instance " + inst + ", nor was any other lab\n"; r.stdout != want {
		t.Errorf("down redirect with nothing up:\n got %q\nwant %q", r.stdout, want)
	}
	if r := mustSucceed(t, xdplab(t, inst, "down")); r.stdout != "nothing of instance "+inst+" was up\n" {
		t.Errorf("down with nothing up: %q", r.stdout)
	}
}

// TestHintsCarryInstance: every command that exec, traffic, capture, fw and
// status suggest names the instance in use, so pasting it acts on the same
// one.
func TestHintsCarryInstance(t *testing.T) {
	testutils.RequirePrivileged(t)
	inst := testutils.Instance(t)
	flag := " --instance " + inst
	upHint := "start a lab with `xdplab up <lab>" + flag + "`"
	// xdplab() appends --instance, which exec would pass on after "--".
	wantError(t, xdplab(t, inst, "exec", "host", "--instance", inst, "--", "true"), "nothing is up in instance "+inst, upHint)
	wantError(t, xdplab(t, inst, "traffic", "ping", "--to", "192.168.0.2"), "nothing is up in instance "+inst, upHint)
	if r := mustSucceed(t, xdplab(t, inst, "status")); !strings.Contains(r.stdout, upHint) {
		t.Errorf("status with nothing up lacks %q:\n%s", upHint, r)
	}

	t.Cleanup(func() { xdplab(t, inst, "down") })
	mustSucceed(t, xdplab(t, inst, "up", "packet_counter"))
	redirectHint := "redirect is not up in instance " + inst + ": start it with `xdplab up redirect" + flag + "`"
	wantError(t, xdplab(t, inst, "exec", "--lab", "redirect", "node1", "--instance", inst, "--", "true"), redirectHint)
	wantError(t, xdplab(t, inst, "traffic", "ping", "--from", "redirect/host", "--to", "192.168.1.5"), redirectHint)
	wantError(t, xdplab(t, inst, "exec", "node1"), "usage: xdplab exec <node>"+flag+" -- CMD [ARGS...]")
	wantError(t, xdplab(t, inst, "capture", "packet_counter"), "try `xdplab capture xdpcap"+flag+"`")
	wantError(t, xdplab(t, inst, "fw", "add"), "usage: xdplab fw add CIDR"+flag)
	mustSucceed(t, xdplab(t, inst, "down"))
}
