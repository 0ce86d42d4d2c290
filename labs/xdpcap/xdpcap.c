//go:build ignore

/* xdpcap lab: drop UDP datagrams to port 9 (the discard service, RFC 863),
 * pass everything else, and say so through the xdpcap hook, so that a
 * capture tool sees every packet together with what the program decided.
 *
 * The only difference from a plain XDP program is the last step: each
 * `return ACTION;` is written `return xdpcap_exit(ctx, &xdpcap_hook, ACTION);`. */
#include <linux/in.h>
#include <linux/udp.h>

#include "xdplab/parse.h"
#include "xdplab/xdpcap.h"

/* The hook: slot i holds the capture program for XDP action i, or nothing.
 * User space pins it, so `xdplab capture` (or cloudflare's xdpcap) can find
 * it and fill the slots while this program keeps running. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, XDPCAP_ACTIONS);
} xdpcap_hook SEC(".maps");

#define DISCARD_PORT 9

SEC("xdp")
int xdp_discard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS); /* ARP, IPv6, runts */
	if (ip->protocol != IPPROTO_UDP)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	/* Only the first fragment carries the UDP header; later ones would
	 * have payload where the ports are. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	/* A header shorter than 20 bytes is malformed: leave it to the kernel. */
	if (ip->ihl < 5)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);

	/* The UDP header starts after the IP options, ihl * 4 bytes in. */
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	/* The UDP header must fit before we read its destination port. */
	if ((void *)(udp + 1) > data_end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);

	if (udp->dest == bpf_htons(DISCARD_PORT))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
