/* A correct udp-step program in another style: a DEVMAP_HASH of struct
 * bpf_devmap_val, a switch over the protocol, the UDP header found from
 * the IP header length, and XDP_PASS as bpf_redirect_map's fallback
 * action. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdplab/parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
	__uint(max_entries, 8);
} if_redirect SEC(".maps");

static __always_inline int reflect(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip, struct udphdr *udp)
{
	struct bpf_fib_lookup fib = {
		.family = 2, /* AF_INET */
		.ipv4_src = ip->daddr,
		.ipv4_dst = ip->saddr,
		.tot_len = bpf_ntohs(ip->tot_len),
		.ifindex = ctx->ingress_ifindex,
	};
	switch (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0)) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return XDP_PASS;
	default:
		return XDP_DROP;
	}
	if (udp) {
		__be16 sport = udp->source;
		udp->source = udp->dest;
		udp->dest = sport;
	}
	__be32 src = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = src;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&if_redirect, fib.ifindex, XDP_PASS);
}

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS;

	switch (ip->protocol) {
	case IPPROTO_ICMP:
		return reflect(ctx, data, ip, NULL);
	case IPPROTO_UDP: {
		struct udphdr *udp = (void *)ip + ip->ihl * 4;
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		return reflect(ctx, data, ip, udp);
	}
	default:
		return XDP_PASS;
	}
}

char _license[] SEC("license") = "GPL";
