/* A correct program for the chain step in another style: both
 * PROG_ARRAYs declared the legacy way (struct bpf_map_def in "maps"), the
 * program on the interface under another name, the protocol read at its
 * byte offset, and the port compared after bpf_ntohs. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
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

struct bpf_map_def SEC("maps") jmp_table = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 1,
};

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	if (p + 14 + 20 > end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (*(__be16 *)(p + 12) != bpf_htons(ETH_P_IP) || p[14 + 9] != 17)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	bpf_tail_call(ctx, &jmp_table, 0);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_ABORTED);
}

SEC("xdp")
int xdp_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > end || ip->ihl < 5 || (ip->frag_off & bpf_htons(0x1fff)))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	enum xdp_action action = bpf_ntohs(udp->dest) == 9 ? XDP_DROP : XDP_PASS;
	return xdpcap_exit(ctx, &xdpcap_hook, action);
}

char __license[] SEC("license") = "GPL";
