/* outcome with the legacy "maps" section for both maps. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct data_t {
	__u32 pid;
	char comm[16];
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
	__u16 established;
};

struct bpf_map_def SEC("maps") events = {
	.type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	.key_size = sizeof(int),
	.value_size = sizeof(__u32),
};

struct bpf_map_def SEC("maps") socklist = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u64),
	.value_size = sizeof(struct data_t),
	.max_entries = 1024,
};

struct args {
	unsigned long long pad;
	unsigned long long skaddr;
	int oldstate, newstate;
	unsigned short sport, dport, family, protocol;
	unsigned int saddr, daddr;
};

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_connect(struct args *ctx)
{
	__u64 sk = ctx->skaddr; /* a map key must be on the stack, not in ctx */

	if (ctx->family != 2 || ctx->protocol != 6)
		return 0;
	if (ctx->oldstate == 7 && ctx->newstate == 2) {
		struct data_t d = {
			.pid = bpf_get_current_pid_tgid(),
			.saddr = ctx->saddr,
			.daddr = ctx->daddr,
			.dport = ctx->dport,
		};
		bpf_get_current_comm(d.comm, sizeof(d.comm));
		bpf_map_update_elem(&socklist, &sk, &d, BPF_ANY);
	} else if (ctx->oldstate == 2) {
		struct data_t *d = bpf_map_lookup_elem(&socklist, &sk);
		if (d) {
			d->established = ctx->newstate == 1 ? 1 : 0;
			bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, d, sizeof(*d));
			bpf_map_delete_elem(&socklist, &sk);
		}
	}
	return 0;
}

char _license[] SEC("license") = "GPL";
