/* The same program the old way, as xdpcap's own testdata/xdp_hook.c does it
 * for libbpf < 1.0: a struct bpf_map_def in the "maps" section made with
 * XDPCAP_HOOK(). */
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

SEC("xdp")
int xdp_hook(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > data_end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (udp->dest == bpf_htons(9))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
