/* A correct program for the tx step in another style: the hook declared
 * the legacy way, the ICMP checksum updated with the bpf_csum_diff helper
 * (it sums the difference between the old and the new type word into the
 * old checksum), the MACs swapped byte by byte, every return through
 * xdpcap_exit. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

#include "xdplab/xdpcap.h"

struct bpf_map_def SEC("maps") xdpcap_hook = XDPCAP_HOOK();

struct echo {
	__u8 type;
	__u8 code;
	__u16 csum;
	__u16 id;
	__u16 seq;
};

static __always_inline __u16 fold(__s64 sum)
{
	__u32 s = (__u32)sum;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int xdp_pong(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl < 5)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (ip->frag_off & bpf_htons(0x1fff))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	void *l4 = (void *)ip + ip->ihl * 4;

	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
		if (udp->dest == bpf_htons(9))
			return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	}
	if (ip->protocol != IPPROTO_ICMP || (ip->frag_off & bpf_htons(0x2000)))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	struct echo *icmp = l4;
	if ((void *)(icmp + 1) > end || icmp->type != 8 || icmp->code != 0)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);

	for (int i = 0; i < ETH_ALEN; i++) {
		__u8 b = eth->h_dest[i];
		eth->h_dest[i] = eth->h_source[i];
		eth->h_source[i] = b;
	}
	__be32 src = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = src;

	__be32 from = 0, to = 0;
	__builtin_memcpy(&from, icmp, 2); /* type 8, code 0 */
	icmp->type = 0;
	__builtin_memcpy(&to, icmp, 2); /* type 0, code 0 */
	__s64 sum = bpf_csum_diff(&from, sizeof(from), &to, sizeof(to), (__u16)~icmp->csum);
	if (sum < 0)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_ABORTED);
	icmp->csum = fold(sum);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_TX);
}

char __license[] SEC("license") = "GPL";
