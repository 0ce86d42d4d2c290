//go:build ignore

/* hello, step whoami: say who called clone(). The line names the thread
 * that called it, as trace's TASK-PID column does: its id and its name. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_clone")
int trace_clone(void *ctx)
{
	/* xdplab:todo 1: the calling thread's id, as trace's TASK-PID column
	 * shows it: the lower 32 bits of bpf_get_current_pid_tgid() (the upper
	 * 32 are the process's id, which its threads share) */
	__u32 pid = bpf_get_current_pid_tgid();
	/* xdplab:else */
	// __u32 pid = 0;
	/* xdplab:end */
	char comm[16] = {};
	/* xdplab:todo 2: the calling thread's name (its comm, 16 bytes at
	 * most): bpf_get_current_comm(comm, sizeof(comm)) */
	bpf_get_current_comm(comm, sizeof(comm));
	/* xdplab:end */
	char msg[] = "Hello, eBPF world! pid %d comm %s\n";
	bpf_trace_printk(msg, sizeof(msg), pid, comm);
	return 0;
}

char _license[] SEC("license") = "GPL";
