/* latency keeping the start time in delta_us itself until the connect is
 * established, as a single struct data_t per socket. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
	unsigned long long pad;
	const void *skaddr;
	int oldstate, newstate;
	unsigned short sport, dport, family, protocol;
	unsigned char saddr[4], daddr[4];
};

struct data_t {
	__u32 pid;
	char comm[16];
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct data_t);
} socklist SEC(".maps");

SEC("tp/sock/inet_sock_set_state")
int tcp_connect(struct args *ctx)
{
	__u64 sk = (unsigned long)ctx->skaddr;

	if (ctx->family != 2 || ctx->protocol != 6)
		return 0;
	if (ctx->oldstate == 7 && ctx->newstate == 2) {
		struct data_t d = {};
		d.pid = bpf_get_current_pid_tgid();
		bpf_get_current_comm(&d.comm, sizeof(d.comm));
		__builtin_memcpy(&d.saddr, ctx->saddr, 4);
		__builtin_memcpy(&d.daddr, ctx->daddr, 4);
		d.dport = ctx->dport;
		d.delta_us = bpf_ktime_get_ns(); /* the start, for now */
		bpf_map_update_elem(&socklist, &sk, &d, BPF_ANY);
		return 0;
	}
	if (ctx->oldstate != 2)
		return 0;
	struct data_t *d = bpf_map_lookup_elem(&socklist, &sk);
	if (!d)
		return 0;
	if (ctx->newstate == 1) {
		struct data_t out = *d;
		out.delta_us = (bpf_ktime_get_ns() - d->delta_us) / 1000;
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &out, sizeof(out));
	}
	bpf_map_delete_elem(&socklist, &sk);
	return 0;
}

char _license[] SEC("license") = "GPL";
