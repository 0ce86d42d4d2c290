/* A correct program for the base exercise in another style: xdp-tutorial's
 * header cursor (each parse step checks bounds and moves the cursor on),
 * one VLAN tag skipped, the hook declared with BTF key and value types as
 * xdpcap's README shows, and the exit through the hook written by hand:
 * the slot index is the action. */
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
	__type(key, int);
	__type(value, int);
} xdpcap_hook SEC(".maps");

static __always_inline int verdict(struct xdp_md *ctx, int action)
{
	bpf_tail_call(ctx, &xdpcap_hook, action);
	return action;
}

struct cursor {
	void *pos;
	void *end;
};

struct vlan {
	__be16 tci;
	__be16 proto;
};

static __always_inline int eth_proto(struct cursor *c)
{
	struct ethhdr *eth = c->pos;
	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	__be16 proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan *v = c->pos;
		if ((void *)(v + 1) > c->end)
			return -1;
		c->pos = v + 1;
		proto = v->proto;
	}
	return bpf_ntohs(proto);
}

static __always_inline struct iphdr *ip_header(struct cursor *c)
{
	struct iphdr *ip = c->pos;
	if ((void *)(ip + 1) > c->end)
		return NULL;
	int len = ip->ihl * 4;
	if (len < (int)sizeof(*ip))
		return NULL;
	if (c->pos + len > c->end)
		return NULL;
	c->pos += len;
	return ip;
}

SEC("xdp")
int discard9(struct xdp_md *ctx)
{
	struct cursor c = {(void *)(long)ctx->data, (void *)(long)ctx->data_end};

	if (eth_proto(&c) != ETH_P_IP)
		return verdict(ctx, XDP_PASS);
	struct iphdr *ip = ip_header(&c);
	if (!ip)
		return verdict(ctx, XDP_PASS);
	switch (ip->protocol) {
	case IPPROTO_UDP:
		break;
	default:
		return verdict(ctx, XDP_PASS);
	}
	if (ip->frag_off & bpf_htons(0x1fff))
		return verdict(ctx, XDP_PASS);
	struct udphdr *udp = c.pos;
	if ((void *)(udp + 1) > c.end)
		return verdict(ctx, XDP_PASS);
	return verdict(ctx, udp->dest == bpf_htons(9) ? XDP_DROP : XDP_PASS);
}

char __license[] SEC("license") = "GPL";
