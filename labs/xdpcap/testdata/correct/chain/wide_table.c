/* A correct program for the chain step in another style: a jmp_table with
 * room for more programs (only slot 0 is used), BTF key and value types,
 * the EtherType tested in a switch, and one exit function that both
 * programs share. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u32);
} xdpcap_hook SEC(".maps");

enum { PROG_UDP = 0, PROG_MAX = 8 };

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PROG_MAX);
	__type(key, __u32);
	__type(value, __u32);
} jmp_table SEC(".maps");

static __always_inline int out(struct xdp_md *ctx, enum xdp_action action)
{
	bpf_tail_call(ctx, &xdpcap_hook, action);
	return action;
}

static __always_inline struct iphdr *ipv4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return NULL;
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP): {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return NULL;
		return ip;
	}
	default:
		return NULL;
	}
}

SEC("xdp")
int xdp_front(struct xdp_md *ctx)
{
	struct iphdr *ip = ipv4(ctx);

	if (ip && ip->protocol == IPPROTO_UDP) {
		bpf_tail_call(ctx, &jmp_table, PROG_UDP);
		return out(ctx, XDP_ABORTED);
	}
	return out(ctx, XDP_PASS);
}

SEC("xdp")
int xdp_udp(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4(ctx);

	if (!ip || ip->protocol != IPPROTO_UDP || ip->ihl < 5 || (ip->frag_off & bpf_htons(0x1fff)))
		return out(ctx, XDP_PASS);
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return out(ctx, XDP_PASS);
	if (udp->dest == bpf_htons(9))
		return out(ctx, XDP_DROP);
	return out(ctx, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
