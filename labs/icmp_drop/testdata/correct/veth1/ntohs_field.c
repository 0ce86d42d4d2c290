/* icmp_drop that turns the EtherType into host order (bpf_ntohs on the
 * field) rather than the constant into network order, and keeps the
 * frame's pointers in one struct. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct frame {
	void *pos, *end;
};

static __always_inline void *take(struct frame *f, __u32 len)
{
	void *at = f->pos;

	/* Bounds check once, for every header taken. */
	if (at + len > f->end)
		return NULL;
	f->pos = at + len;
	return at;
}

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	struct frame f = {(void *)(long)ctx->data, (void *)(long)ctx->data_end};
	struct ethhdr *eth = take(&f, sizeof(*eth));
	struct iphdr *ip;

	if (!eth || bpf_ntohs(eth->h_proto) != ETH_P_IP)
		return XDP_PASS;
	ip = take(&f, sizeof(*ip));
	if (ip && ip->protocol == IPPROTO_ICMP)
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
