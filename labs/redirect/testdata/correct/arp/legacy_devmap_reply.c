/* A correct arp-step program in another style: the legacy "maps" section
 * for all three maps (arp_table with 6-byte values), the ARP header read at
 * byte offsets, and the reply sent back through the DEVMAP to the
 * interface the request came in on, bpf_redirect_map(&if_redirect,
 * ctx->ingress_ifindex, 0), instead of XDP_TX. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") if_redirect = {
	.type = BPF_MAP_TYPE_DEVMAP,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") arp_table = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = 4,  /* IPv4 address, network byte order */
	.value_size = 6, /* MAC */
	.max_entries = 8,
};

/* Offsets in an Ethernet frame carrying ARP for IPv4. */
#define ARP 14
#define ARP_OP (ARP + 6)
#define ARP_SHA (ARP + 8)
#define ARP_SIP (ARP + 14)
#define ARP_THA (ARP + 18)
#define ARP_TIP (ARP + 24)
#define ARP_END (ARP + 28)

static __always_inline int answer_arp(struct xdp_md *ctx, __u8 *p)
{
	/* htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4, op 1 (request) */
	static const __u8 request[8] = {0, 1, 8, 0, 6, 4, 0, 1};
	for (int i = 0; i < 8; i++)
		if (p[ARP + i] != request[i])
			return XDP_PASS;

	__u32 target;
	__builtin_memcpy(&target, p + ARP_TIP, 4);
	__u8 *mac = bpf_map_lookup_elem(&arp_table, &target);
	if (!mac)
		return XDP_PASS;

	p[ARP_OP + 1] = 2; /* reply */
	__builtin_memcpy(p + ARP_THA, p + ARP_SHA, ETH_ALEN);
	__builtin_memcpy(p + ARP_TIP, p + ARP_SIP, 4);
	__builtin_memcpy(p + ARP_SHA, mac, ETH_ALEN);
	__builtin_memcpy(p + ARP_SIP, &target, 4);
	__builtin_memcpy(p, p + ARP_THA, ETH_ALEN); /* to the asker */
	__builtin_memcpy(p + ETH_ALEN, mac, ETH_ALEN);
	return bpf_redirect_map(&if_redirect, ctx->ingress_ifindex, 0);
}

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		if (data + ARP_END > data_end)
			return XDP_PASS;
		return answer_arp(ctx, data);
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_ICMP)
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
