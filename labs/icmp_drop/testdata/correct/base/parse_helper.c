/* icmp_drop with xdplab's parse_ipv4 helper and a switch on the protocol,
 * as a program that will drop more than ICMP one day is written. */
#include <linux/in.h>
#include "xdplab/parse.h"

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	struct iphdr *ip = parse_ipv4((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	if (!ip)
		return XDP_PASS;
	switch (ip->protocol) {
	case IPPROTO_ICMP:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

char _license[] SEC("license") = "GPL";
