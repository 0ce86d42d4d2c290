/* The go-xdp-examples bpf_redirect_map program as the tutorial builds it:
 * goebpf's struct bpf_map_def in a legacy "maps" section, a DEVMAP of 1024
 * entries keyed by ifindex, no fib_results counters. xdplab must load it with
 * `up redirect --obj` and grade it like its own program. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef IF_REDIRECT_ENTRIES
#define IF_REDIRECT_ENTRIES 1024
#endif

/* goebpf's layout: five u32 fields, then two pointers the loader ignores. */
struct bpf_map_def {
	unsigned int map_type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	void *inner_map_def;
	const char *persistent_path;
};

struct bpf_map_def SEC("maps") if_redirect = {
	.map_type = BPF_MAP_TYPE_DEVMAP,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = IF_REDIRECT_ENTRIES,
};

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;

	struct bpf_fib_lookup fib;
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = 2; /* AF_INET */
	fib.ipv4_src = ip->daddr;
	fib.ipv4_dst = ip->saddr;
	fib.ifindex = ctx->ingress_ifindex;
	int rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;

	__u32 daddr = ip->daddr;
	ip->daddr = ip->saddr;
	ip->saddr = daddr;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&if_redirect, fib.ifindex, 0);
}

char _license[] SEC("license") = "GPL";
