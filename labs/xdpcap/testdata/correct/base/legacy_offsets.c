/* A correct program for the base exercise in another style: the hook
 * declared the legacy way (struct bpf_map_def in "maps", XDPCAP_HOOK(),
 * as cloudflare's testdata/xdp_hook.c does), fields read at their byte
 * offsets, the port converted with bpf_ntohs instead of the constant with
 * bpf_htons, and every return written through xdpcap_exit. */
#include <linux/bpf.h>
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

#define ETH_LEN 14

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	/* Ethernet and the fixed IPv4 header. */
	if (p + ETH_LEN + 20 > end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (p[12] != 0x08 || p[13] != 0x00) /* EtherType IPv4, byte by byte */
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	__u8 *ip = p + ETH_LEN;
	__u32 hlen = (ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || hlen < 20 || ip[9] != 17 /* UDP */)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	/* Later fragments: offset bits in bytes 6 and 7. */
	if ((ip[6] & 0x1f) || ip[7])
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	__u8 *udp = ip + hlen;
	/* The destination port is bytes 2 and 3 of the UDP header. */
	if (udp + 4 > end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (bpf_ntohs(*(__be16 *)(udp + 2)) == 9)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
