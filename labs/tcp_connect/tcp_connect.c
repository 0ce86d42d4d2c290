//go:build ignore

/* tcp_connect: the eBPF introduction's TCP connection tracer, on a
 * tracepoint.
 *
 * The introduction puts a kprobe on tcp_v4_connect() that remembers the
 * socket in the hash socklist, keyed by pid, and a kretprobe that reads
 * the addresses and the port from it once the connect has chosen them.
 * This kernel has no kprobes: the program runs at the tracepoint
 * sock/inet_sock_set_state, which the kernel fires at every change of a
 * TCP socket's state. tcp_v4_connect() moves the socket from TCP_CLOSE to
 * TCP_SYN_SENT after it chose the source address, in the connecting task,
 * just before it sends the SYN: the moment the kretprobe reports. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define TASK_COMM_LEN 16

/* The tracepoint's record, as
 * /sys/kernel/tracing/events/sock/inet_sock_set_state/format lays it out.
 * The tracepoint fills sport and dport in host byte order, and the
 * addresses as the bytes of the packet (network order). */
struct inet_sock_set_state_args {
	__u64 common; /* common_type, common_flags, common_preempt_count, common_pid */
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
};

/* The introduction's event: addresses in network byte order, as the
 * kernel keeps them, and the destination port in host order. */
struct data_t {
	__u32 pid;
	char comm[TASK_COMM_LEN];
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
};

/* events: a perf ring per CPU that user space reads (BPF_PERF_OUTPUT). */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_connect(struct inet_sock_set_state_args *ctx)
{
	/* Every TCP socket of the machine changes state here, IPv6 ones
	 * too, for every reason: keep IPv4 sockets going from TCP_CLOSE to
	 * TCP_SYN_SENT, a connect() under way. */
	if (ctx->family != AF_INET || ctx->protocol != IPPROTO_TCP)
		return 0;
	/* xdplab:todo 1: report only the change from TCP_CLOSE to
	 * TCP_SYN_SENT: it happens in connect() itself, in the connecting
	 * task, for a connection that will be refused too */
	if (ctx->oldstate != TCP_CLOSE || ctx->newstate != TCP_SYN_SENT)
		return 0;
	/* xdplab:end */

	struct data_t data = {};
	/* xdplab:todo 2: the connecting thread's id (the lower 32 bits of
	 * bpf_get_current_pid_tgid(), as the introduction keys socklist) and
	 * its name (bpf_get_current_comm) */
	data.pid = bpf_get_current_pid_tgid();
	bpf_get_current_comm(&data.comm, sizeof(data.comm));
	/* xdplab:end */
	/* xdplab:todo 3: the addresses, as 4 bytes each in network order, and
	 * the destination port, which the tracepoint gives in host order */
	__builtin_memcpy(&data.saddr, ctx->saddr, sizeof(data.saddr));
	__builtin_memcpy(&data.daddr, ctx->daddr, sizeof(data.daddr));
	data.dport = ctx->dport;
	/* xdplab:end */

	/* xdplab:todo 4: send data to user space through events, on the
	 * current CPU's ring */
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &data, sizeof(data));
	/* xdplab:else */
	// (void)data; /* nothing is sent yet */
	/* xdplab:end */
	return 0;
}

char _license[] SEC("license") = "GPL";
