/* hello in the style of the kernel's old samples/bpf: the helper called
 * through a pointer to its number, the format in a static array, and the
 * tracepoint's context spelled out (struct syscall_trace_enter's layout). */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

static long (*trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)BPF_FUNC_trace_printk;

struct sys_enter_args {
	__u64 common; /* the tracepoint's common fields */
	int nr;       /* the system call's number */
	__u64 args[6];
};

SEC("tracepoint/syscalls/sys_enter_clone")
int trace_clone(struct sys_enter_args *ctx)
{
	static const char fmt[] = "Hello, eBPF world!\n";
	trace_printk(fmt, sizeof(fmt));
	return 0;
}

char _license[] SEC("license") = "GPL";
