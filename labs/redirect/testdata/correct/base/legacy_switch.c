/* A correct base program in another style: the legacy "maps" section with
 * struct bpf_map_def and a plain DEVMAP (an array indexed by ifindex), the
 * shared parse_ipv4 helper, a switch on the lookup's answer, no tot_len (no
 * MTU check), no fib_results, and XDP_DROP as bpf_redirect_map's fallback
 * action (the lower bits of flags) for a key missing from the DEVMAP. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdplab/parse.h"

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") if_redirect = {
	.type = BPF_MAP_TYPE_DEVMAP,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 256,
};

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = parse_ipv4(data, data_end);

	if (!ip || ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;

	struct bpf_fib_lookup fib;
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = 2; /* AF_INET */
	fib.ipv4_src = ip->daddr;
	fib.ipv4_dst = ip->saddr;
	fib.ifindex = ctx->ingress_ifindex;
	switch (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0)) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return XDP_PASS;
	default:
		return XDP_DROP;
	}

	__u32 old_src = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = old_src;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&if_redirect, fib.ifindex, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
