/* tcp_connect at the same tracepoint through BTF (tp_btf): the program
 * gets the tracepoint's arguments, the struct sock and the two states,
 * and reads the socket with CO-RE as the introduction's kretprobe does,
 * skc_dport converted with bpf_ntohs since the socket keeps it in network
 * order. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

struct sock_common {
	unsigned short skc_family;
	__u32 skc_daddr;
	__u32 skc_rcv_saddr;
	__u16 skc_dport;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct data_t {
	__u32 pid;
	char comm[16];
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
};

SEC("tp_btf/inet_sock_set_state")
int tcp_connect(unsigned long long *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int oldstate = ctx[1], newstate = ctx[2];
	struct data_t data = {};

	if (oldstate != 7 || newstate != 2) /* TCP_CLOSE -> TCP_SYN_SENT */
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) != 2 || BPF_CORE_READ(sk, sk_protocol) != 6)
		return 0;
	data.pid = bpf_get_current_pid_tgid();
	bpf_get_current_comm(&data.comm, sizeof(data.comm));
	data.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	data.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	data.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}

char _license[] SEC("license") = "GPL";
