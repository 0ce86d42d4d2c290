//go:build ignore

/* tcp_connect, step latency.
 *
 * Report how long each connect took to be established, as bcc's
 * tcpconnlat does: the time from TCP_SYN_SENT to TCP_ESTABLISHED, in
 * microseconds. A refused connect is not reported. */
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

/* The introduction's event, and the time the connect took. */
struct data_t {
	__u32 pid;
	char comm[TASK_COMM_LEN];
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
	__u64 delta_us;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* A connect under way: the event so far, and when it began. */
struct start {
	struct data_t data;
	__u64 ts;
};

/* socklist: the socket (its address in the kernel) -> its connect. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct start);
} socklist SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_connect(struct inet_sock_set_state_args *ctx)
{
	if (ctx->family != AF_INET || ctx->protocol != IPPROTO_TCP)
		return 0;
	__u64 sk = (__u64)ctx->skaddr;

	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		struct start s = {};
		s.data.pid = bpf_get_current_pid_tgid();
		bpf_get_current_comm(&s.data.comm, sizeof(s.data.comm));
		__builtin_memcpy(&s.data.saddr, ctx->saddr, sizeof(s.data.saddr));
		__builtin_memcpy(&s.data.daddr, ctx->daddr, sizeof(s.data.daddr));
		s.data.dport = ctx->dport;
		/* xdplab:todo 1: note when the connect began, in nanoseconds since
		 * boot (bpf_ktime_get_ns()) */
		s.ts = bpf_ktime_get_ns();
		/* xdplab:end */
		bpf_map_update_elem(&socklist, &sk, &s, BPF_ANY);
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT)
		return 0;

	struct start *s = bpf_map_lookup_elem(&socklist, &sk);
	if (!s)
		return 0;
	/* xdplab:todo 2: when the connect was established (not refused),
	 * report the time since it began in microseconds */
	if (ctx->newstate == TCP_ESTABLISHED) {
		s->data.delta_us = (bpf_ktime_get_ns() - s->ts) / 1000;
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &s->data, sizeof(s->data));
	}
	/* xdplab:end */
	bpf_map_delete_elem(&socklist, &sk);
	return 0;
}

char _license[] SEC("license") = "GPL";
