//go:build ignore

/* tcp_connect, step outcome.
 *
 * Report a connect when it ends, with its outcome: established, or
 * refused. It ends where the answer arrives, in whatever task the CPU runs
 * then, so what the connecting task was is remembered at TCP_SYN_SENT in
 * the hash socklist, as the introduction remembers its socket between
 * kprobe and kretprobe, and taken from there. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
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

/* The introduction's event, and how the connect ended: 1 established, 0
 * refused (or given up). */
struct data_t {
	__u32 pid;
	char comm[TASK_COMM_LEN];
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
	__u16 established;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* socklist: the socket (its address in the kernel) -> the connect under
 * way on it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct data_t);
} socklist SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_connect(struct inet_sock_set_state_args *ctx)
{
	if (ctx->family != AF_INET || ctx->protocol != IPPROTO_TCP)
		return 0;
	__u64 sk = (__u64)ctx->skaddr;

	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		/* connect() under way, in the connecting task. */
		struct data_t data = {};
		data.pid = bpf_get_current_pid_tgid();
		bpf_get_current_comm(&data.comm, sizeof(data.comm));
		__builtin_memcpy(&data.saddr, ctx->saddr, sizeof(data.saddr));
		__builtin_memcpy(&data.daddr, ctx->daddr, sizeof(data.daddr));
		data.dport = ctx->dport;
		/* xdplab:todo 1: remember the connect under its socket until it
		 * ends: bpf_map_update_elem(&socklist, &sk, &data, BPF_ANY) */
		bpf_map_update_elem(&socklist, &sk, &data, BPF_ANY);
		/* xdplab:end */
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT)
		return 0;

	/* The connect ended: TCP_ESTABLISHED, or TCP_CLOSE when refused. */
	struct data_t *data = bpf_map_lookup_elem(&socklist, &sk);
	if (!data)
		return 0; /* a connect that began before the program ran */
	/* xdplab:todo 2: say how it ended, report what TCP_SYN_SENT saw, and
	 * forget the socket (bpf_map_delete_elem): the map would fill up */
	data->established = ctx->newstate == TCP_ESTABLISHED;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, sizeof(*data));
	bpf_map_delete_elem(&socklist, &sk);
	/* xdplab:end */
	return 0;
}

char _license[] SEC("license") = "GPL";
