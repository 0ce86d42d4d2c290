/* tcp_connect with the legacy "maps" section (struct bpf_map_def) for
 * events, the process's id (the upper 32 bits of bpf_get_current_pid_tgid(),
 * as bcc's tcpconnect reports it) as pid, and the addresses read as
 * 32-bit words. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") events = {
	.type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	.key_size = sizeof(int),
	.value_size = sizeof(__u32),
};

struct args {
	unsigned long long pad;
	const void *skaddr;
	int oldstate, newstate;
	unsigned short sport, dport, family, protocol;
	unsigned int saddr, daddr; /* the 4 address bytes, in network order */
};

struct data_t {
	__u32 pid;
	char comm[16];
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
};

SEC("tp/sock/inet_sock_set_state")
int tcp_connect(struct args *ctx)
{
	struct data_t data = {};

	if (ctx->protocol != 6 || ctx->family != 2)
		return 0;
	if (ctx->newstate != 2 || ctx->oldstate != 7) /* TCP_SYN_SENT from TCP_CLOSE */
		return 0;
	data.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(data.comm, sizeof(data.comm));
	data.saddr = ctx->saddr;
	data.daddr = ctx->daddr;
	data.dport = ctx->dport;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}

char _license[] SEC("license") = "GPL";
