/* A correct arp-step program in another style: BTF maps with an arp_table
 * value padded to 8 bytes, a packed struct for the ARP payload, the reply
 * built into a copy and written back whole, XDP_TX to send it, and the
 * ICMP reflection through the shared parse_ipv4 helper. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdplab/parse.h"

struct mac_entry {
	__u8 mac[ETH_ALEN];
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct mac_entry);
	__uint(max_entries, 8);
} arp_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 8);
} if_redirect SEC(".maps");

struct arp_frame {
	__u8 dst[ETH_ALEN], src[ETH_ALEN];
	__be16 proto;
	__be16 hrd, pro;
	__u8 hln, pln;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 sip;
	__u8 tha[ETH_ALEN];
	__be32 tip;
} __attribute__((packed));

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct arp_frame *a = data;

	if ((void *)(a + 1) <= data_end && a->proto == bpf_htons(ETH_P_ARP) && a->hrd == bpf_htons(1) &&
	    a->pro == bpf_htons(ETH_P_IP) && a->op == bpf_htons(1)) {
		__be32 target = a->tip;
		struct mac_entry *e = bpf_map_lookup_elem(&arp_table, &target);
		if (!e)
			return XDP_PASS;
		struct arp_frame r = *a;
		__builtin_memcpy(r.dst, a->sha, ETH_ALEN);
		__builtin_memcpy(r.src, e->mac, ETH_ALEN);
		r.op = bpf_htons(2);
		__builtin_memcpy(r.sha, e->mac, ETH_ALEN);
		r.sip = target;
		__builtin_memcpy(r.tha, a->sha, ETH_ALEN);
		r.tip = a->sip;
		*a = r;
		return XDP_TX;
	}

	struct ethhdr *eth = data;
	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip || ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	struct bpf_fib_lookup fib = {
		.family = 2, /* AF_INET */
		.ipv4_src = ip->daddr,
		.ipv4_dst = ip->saddr,
		.tot_len = bpf_ntohs(ip->tot_len),
		.ifindex = ctx->ingress_ifindex,
	};
	long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;
	__be32 s = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = s;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&if_redirect, fib.ifindex, 0);
}

char _license[] SEC("license") = "GPL";
