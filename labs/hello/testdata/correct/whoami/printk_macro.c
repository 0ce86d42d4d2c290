/* whoami with bpf_printk and the id split explicitly from the 64-bit
 * value: the thread's id is its lower half. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_clone")
int trace_clone(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)(id & 0xffffffff);
	char comm[16];

	bpf_get_current_comm(&comm, sizeof(comm));
	bpf_printk("Hello, eBPF world! pid %u comm %s\n", tid, comm);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
