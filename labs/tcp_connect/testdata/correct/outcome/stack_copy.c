/* outcome with an LRU hash for socklist (it never fills up) and the
 * event copied to the stack before it is sent. */
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
	__u16 established;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct data_t);
} socklist SEC(".maps");

SEC("tp/sock/inet_sock_set_state")
int tcp_connect(struct args *ctx)
{
	__u64 sk = (unsigned long)ctx->skaddr;
	struct data_t data = {}, *found;

	if (ctx->family != 2 || ctx->protocol != 6)
		return 0;
	switch (ctx->oldstate) {
	case 7: /* TCP_CLOSE */
		if (ctx->newstate != 2)
			return 0;
		data.pid = (__u32)bpf_get_current_pid_tgid();
		bpf_get_current_comm(&data.comm, sizeof(data.comm));
		__builtin_memcpy(&data.saddr, ctx->saddr, 4);
		__builtin_memcpy(&data.daddr, ctx->daddr, 4);
		data.dport = ctx->dport;
		bpf_map_update_elem(&socklist, &sk, &data, BPF_ANY);
		return 0;
	case 2: /* TCP_SYN_SENT */
		found = bpf_map_lookup_elem(&socklist, &sk);
		if (!found)
			return 0;
		data = *found;
		bpf_map_delete_elem(&socklist, &sk);
		data.established = ctx->newstate == 1;
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &data, sizeof(data));
	}
	return 0;
}

char _license[] SEC("license") = "GPL";
