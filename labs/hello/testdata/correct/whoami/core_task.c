/* whoami read from the kernel's task_struct with CO-RE instead of the
 * pid/comm helpers: task->pid is the thread's id, task->comm its name. The
 * struct lists only the fields read; preserve_access_index lets libbpf's
 * loader (cilium/ebpf here) find them in the running kernel's BTF. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	char comm[16];
} __attribute__((preserve_access_index));

SEC("tracepoint/syscalls/sys_enter_clone")
int trace_clone(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int pid = BPF_CORE_READ(task, pid);
	char comm[16];

	BPF_CORE_READ_STR_INTO(&comm, task, comm);
	char msg[] = "Hello, eBPF world! pid %d comm %s\n";
	bpf_trace_printk(msg, sizeof(msg), pid, comm);
	return 0;
}

char _license[] SEC("license") = "GPL";
