//go:build ignore

/* hello: the eBPF introduction's "Hello, eBPF world!", on a tracepoint.
 *
 * The introduction attaches its program with bcc to a kprobe on the clone
 * system call's kernel function. This kernel has no kprobes, so the program
 * runs at the tracepoint the kernel fires when clone() enters it:
 * syscalls/sys_enter_clone. Either way, the kernel calls trace_clone every
 * time any process on the machine calls clone(), and trace_clone writes a
 * line into the kernel's trace. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The section name says where the program runs: "tracepoint/" then the
 * tracepoint's group and name, as /sys/kernel/tracing/events/ lists them. */
/* xdplab:todo 1: run trace_clone where clone() enters the kernel: the
 * tracepoint syscalls/sys_enter_clone */
SEC("tracepoint/syscalls/sys_enter_clone")
/* xdplab:else */
// SEC("tracepoint/syscalls/sys_enter_getppid")
/* xdplab:end */
int trace_clone(void *ctx)
{
	/* xdplab:todo 2: print "Hello, eBPF world!" and a newline into the
	 * trace with bpf_trace_printk(msg, size); size counts the terminating
	 * NUL too, so pass sizeof(msg) */
	char msg[] = "Hello, eBPF world!\n";
	bpf_trace_printk(msg, sizeof(msg));
	/* xdplab:end */
	return 0;
}

/* bpf_trace_printk is only for GPL-compatible programs. */
char _license[] SEC("license") = "GPL";
