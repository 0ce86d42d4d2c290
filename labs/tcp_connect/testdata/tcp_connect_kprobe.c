/* The introduction's program as bcc writes it, for libbpf: a kprobe on
 * tcp_v4_connect() remembers the socket in socklist keyed by pid, and a
 * kretprobe reads its addresses and port once the connect chose them.
 * xdplab grades it where the kernel has kprobes and refuses it, naming the
 * tracepoint variant, where it has none. */
#define __TARGET_ARCH_x86 /* the kernel function's registers: this object is for x86_64 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct sock_common {
	__u32 skc_daddr;
	__u32 skc_rcv_saddr;
	__u16 skc_dport;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct data_t {
	__u32 pid;
	char comm[16];
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} socklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("kprobe/tcp_v4_connect")
int tcp_connect(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid();
	__u64 sk = (__u64)PT_REGS_PARM1(ctx);

	bpf_map_update_elem(&socklist, &pid, &sk, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int tcp_connect_ret(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid();
	__u64 *skp = bpf_map_lookup_elem(&socklist, &pid);
	if (!skp)
		return 0;
	struct sock *sk = (struct sock *)*skp;
	bpf_map_delete_elem(&socklist, &pid);
	if (PT_REGS_RC(ctx) != 0)
		return 0; /* the connect failed before its SYN */

	struct data_t data = {.pid = pid};
	bpf_get_current_comm(&data.comm, sizeof(data.comm));
	data.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	data.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	data.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}

char _license[] SEC("license") = "GPL";
