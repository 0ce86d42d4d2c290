/* The introduction's program as bcc attaches it, written for libbpf: a
 * kprobe on the kernel function behind clone(). xdplab grades it where the
 * kernel has kprobes, and refuses it, pointing to the tracepoint, where it
 * has none. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("kprobe/__x64_sys_clone")
int trace_clone(void *ctx)
{
	char msg[] = "Hello, eBPF world!\n";
	bpf_trace_printk(msg, sizeof(msg));
	return 0;
}

char _license[] SEC("license") = "GPL";
