/* hello written with libbpf's bpf_printk macro and the short "tp/" section
 * prefix, as libbpf-bootstrap's examples write it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_clone")
int trace_clone(void *ctx)
{
	bpf_printk("Hello, eBPF world!\n");
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
