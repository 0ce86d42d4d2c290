// Package doctor checks that this machine can run the labs and says how to fix
// what is missing.
package doctor

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// Level is the verdict of one item.
type Level string

const (
	OK   Level = "ok"
	Warn Level = "warn"
	Fail Level = "fail"
	// Skip marks an item that was not checked: what it needs failed in an
	// item before it, which says so and how to fix it.
	Skip Level = "skip"
)

// Item is one preflight check.
type Item struct {
	Name   string `json:"name"`
	Level  Level  `json:"level"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// BPFFS is where bpffs must be mounted.
const BPFFS = "/sys/fs/bpf"

// Run performs every check. With mount set (and root), a missing bpffs is
// mounted instead of reported.
func Run(mount bool) []Item {
	return run(capabilities(), mount)
}

// run is Run with the privileges item already judged: without them, the
// program and map types are not probed. A probe loads a program or creates
// a map, which fails with EPERM, and seven failures would blame the kernel
// for what `sudo` fixes.
func run(privileges Item, mount bool) []Item {
	items := []Item{kernel(), btf(), privileges, bpffs(mount), jit()}
	if privileges.Level == Fail {
		items = append(items, Item{Name: "program and map types", Level: Skip,
			Detail: "not checked: probing them needs the privileges above"})
	} else {
		items = append(items, programTypes()...)
		items = append(items, mapTypes()...)
	}
	items = append(items, netns())
	return items
}

// Failed reports whether any item failed.
func Failed(items []Item) bool {
	for _, it := range items {
		if it.Level == Fail {
			return true
		}
	}
	return false
}

// Write prints the items, one per line, with the fix under each problem.
func Write(w io.Writer, items []Item) {
	for _, it := range items {
		fmt.Fprintf(w, "%-4s  %-28s %s\n", it.Level, it.Name, it.Detail)
		if it.Fix != "" && it.Level != OK {
			fmt.Fprintf(w, "      fix: %s\n", it.Fix)
		}
	}
}

func kernel() Item {
	var u unix.Utsname
	unix.Uname(&u)
	rel := unix.ByteSliceToString(u.Release[:])
	it := Item{Name: "kernel", Level: OK, Detail: rel}
	var major, minor int
	fmt.Sscanf(rel, "%d.%d", &major, &minor)
	if major < 5 || (major == 5 && minor < 10) {
		it.Level, it.Fix = Fail, "use a kernel >= 5.10 (bpf_link for XDP, bpf_xdp_load_bytes needs 5.18): the Vagrantfile's Ubuntu box has one"
	} else if major == 5 && minor < 18 {
		it.Level, it.Fix = Warn, "kernel < 5.18: the capture filters need bpf_xdp_load_bytes; use the Vagrant box"
	}
	return it
}

func btf() Item {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return Item{Name: "BTF", Level: Warn, Detail: "/sys/kernel/btf/vmlinux missing",
			Fix: "a kernel built with CONFIG_DEBUG_INFO_BTF=y; the labs load without it, but tp_btf programs do not"}
	}
	return Item{Name: "BTF", Level: OK, Detail: "/sys/kernel/btf/vmlinux"}
}

func capabilities() Item {
	it := Item{Name: "privileges", Level: OK}
	b, _ := os.ReadFile("/proc/self/status")
	var eff uint64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	have := func(c uint) bool { return eff&(1<<c) != 0 }
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, {unix.CAP_BPF, "CAP_BPF"}} {
		if !have(c.bit) {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		it.Level, it.Detail = Fail, "missing "+strings.Join(missing, ", ")
		it.Fix = "run with sudo: `sudo xdplab doctor`"
		return it
	}
	it.Detail = fmt.Sprintf("uid %d, CAP_NET_ADMIN CAP_SYS_ADMIN CAP_BPF", os.Geteuid())
	return it
}

func isBPFFS(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}

func bpffs(mount bool) Item {
	it := Item{Name: "bpffs", Level: OK, Detail: "mounted at " + BPFFS}
	if isBPFFS(BPFFS) {
		return it
	}
	it.Fix = "sudo mount -t bpf bpf " + BPFFS + " (or run `sudo xdplab doctor`, which mounts it)"
	if !mount || os.Geteuid() != 0 {
		it.Level, it.Detail = Fail, "not mounted at "+BPFFS
		return it
	}
	if err := os.MkdirAll(BPFFS, 0o755); err == nil {
		if err := unix.Mount("bpf", BPFFS, "bpf", 0, "mode=0700"); err != nil {
			it.Level, it.Detail = Fail, fmt.Sprintf("not mounted, and mounting failed: %v", err)
			return it
		}
	}
	it.Detail = "was not mounted: mounted it at " + BPFFS
	return it
}

func jit() Item {
	b, err := os.ReadFile("/proc/sys/net/core/bpf_jit_enable")
	v := strings.TrimSpace(string(b))
	switch {
	case err != nil:
		return Item{Name: "BPF JIT", Level: Warn, Detail: "cannot read net.core.bpf_jit_enable"}
	case v == "0":
		return Item{Name: "BPF JIT", Level: Warn, Detail: "disabled: programs are interpreted (slow benchmarks)",
			Fix: "sysctl -w net.core.bpf_jit_enable=1"}
	}
	return Item{Name: "BPF JIT", Level: OK, Detail: "enabled"}
}

func programTypes() []Item {
	var items []Item
	for _, pt := range []ebpf.ProgramType{ebpf.XDP, ebpf.SocketFilter} {
		items = append(items, feature("program type "+pt.String(), features.HaveProgramType(pt),
			"a kernel with CONFIG_BPF_SYSCALL=y and CONFIG_XDP_SOCKETS/CONFIG_NET"))
	}
	return items
}

func mapTypes() []Item {
	var items []Item
	for _, mt := range []ebpf.MapType{ebpf.PerCPUArray, ebpf.LPMTrie, ebpf.DevMapHash, ebpf.ProgramArray, ebpf.PerfEventArray} {
		items = append(items, feature("map type "+mt.String(), features.HaveMapType(mt),
			"a newer kernel (the Vagrant box has every map type the labs use)"))
	}
	return items
}

func feature(name string, err error, fix string) Item {
	if err != nil {
		return Item{Name: name, Level: Fail, Detail: err.Error(), Fix: fix}
	}
	return Item{Name: name, Level: OK, Detail: "supported"}
}

func netns() Item {
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return Item{Name: "network namespaces", Level: Fail, Detail: err.Error(), Fix: "a kernel with CONFIG_NET_NS=y"}
	}
	return Item{Name: "network namespaces", Level: OK, Detail: "supported"}
}
