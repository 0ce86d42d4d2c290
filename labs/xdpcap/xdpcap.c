//go:build ignore

/* xdpcap lab: drop UDP datagrams to port 9 (the discard service, RFC 863),
 * pass everything else, and say so through the xdpcap hook, so that a
 * capture tool sees every packet together with what the program decided.
 *
 * decide() is a plain XDP policy that returns an action. The only thing
 * that makes the program capturable is its exit: instead of
 * `return action;` it returns `xdpcap_exit(ctx, &xdpcap_hook, action)`. */
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

/* decide returns XDP_DROP for a UDP datagram to port 9, XDP_PASS for
 * anything else. */
static __always_inline enum xdp_action decide(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS; /* ARP, IPv6, runts */
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	/* Only the first fragment carries the UDP header; later ones would
	 * have payload where the ports are. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return XDP_PASS;
	/* A header shorter than 20 bytes is malformed: leave it to the kernel. */
	if (ip->ihl < 5)
		return XDP_PASS;

	/* xdplab:todo 1: find the UDP header, ip->ihl * 4 bytes after the
	 * start of the IP header (options come before it), and return
	 * XDP_PASS unless a whole struct udphdr fits before data_end; then
	 * return XDP_DROP when its destination port, udp->dest, is
	 * DISCARD_PORT. The port is in network byte order: compare it with
	 * bpf_htons(DISCARD_PORT). */
	/* The UDP header starts after the IP options, ihl * 4 bytes in. */
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	/* The UDP header must fit before we read its destination port. */
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (udp->dest == bpf_htons(DISCARD_PORT))
		return XDP_DROP;
	/* xdplab:end */
	return XDP_PASS;
}

SEC("xdp")
int xdp_discard(struct xdp_md *ctx)
{
	/* xdplab:todo 2: return the decision through the hook:
	 * xdpcap_exit(ctx, &xdpcap_hook, action) tail-calls the capture
	 * program in the action's slot, if there is one, and otherwise
	 * returns the action itself. */
	return xdpcap_exit(ctx, &xdpcap_hook, decide(ctx));
	/* xdplab:else */
	// return decide(ctx); /* replace this line when you write TODO 2 */
	/* xdplab:end */
}

char __license[] SEC("license") = "GPL";
