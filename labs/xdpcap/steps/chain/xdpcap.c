//go:build ignore

/* xdpcap lab, step chain: the same policy as the base exercise (drop UDP to
 * port 9, pass the rest), split over two programs, as the "write your own
 * xdpdump" article chains its capture program to the original one.
 * xdp_discard, on the interface, passes what is not UDP and hands UDP over
 * to xdp_udp with a tail call through the PROG_ARRAY jmp_table; xdp_udp
 * decides. Both exit through the xdpcap hook, so a capture sees every
 * verdict, whichever program gave it. */
#include <linux/in.h>
#include <linux/udp.h>

#include "xdplab/parse.h"
#include "xdplab/xdpcap.h"

/* The hook: slot i holds the capture program for XDP action i. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, XDPCAP_ACTIONS);
} xdpcap_hook SEC(".maps");

/* The chain: slot UDP_PROG holds xdp_udp. A program cannot name another
 * program, only a slot: user space (`xdplab up`) puts xdp_udp there and
 * pins the array, which the kernel would otherwise empty when the loader
 * exits. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 1);
} jmp_table SEC(".maps");

#define UDP_PROG 0
#define DISCARD_PORT 9

/* xdp_discard is the program on the interface. */
SEC("xdp")
int xdp_discard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);

	/* xdplab:todo 1: hand UDP over to xdp_udp: bpf_tail_call(ctx,
	 * &jmp_table, UDP_PROG) jumps to the program in that slot and never
	 * comes back. The next line runs only when the tail call failed (the
	 * slot is empty, or the index is past the end): return XDP_ABORTED
	 * through the hook there, so that a capture shows the failure. */
	bpf_tail_call(ctx, &jmp_table, UDP_PROG);
	/* Reached only when the tail call failed. */
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_ABORTED);
	/* xdplab:else */
	// return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS); /* replace this line when you write TODO 1 */
	/* xdplab:end */
}

/* xdp_udp runs only through jmp_table, for UDP. A tail call keeps nothing
 * of the caller but ctx, so it finds the headers again itself. */
SEC("xdp")
int xdp_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	/* Only the first fragment carries the UDP header. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (ip->ihl < 5)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);

	/* xdplab:todo 2: find the UDP header, ip->ihl * 4 bytes after the
	 * start of the IP header, pass the datagram unless a whole struct
	 * udphdr fits before data_end, and drop it when udp->dest ==
	 * bpf_htons(DISCARD_PORT): through the hook, return
	 * xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP). */
	/* The UDP header starts after the IP options, ihl * 4 bytes in. */
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	/* The UDP header must fit before we read its destination port. */
	if ((void *)(udp + 1) > data_end)
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
	if (udp->dest == bpf_htons(DISCARD_PORT))
		return xdpcap_exit(ctx, &xdpcap_hook, XDP_DROP);
	/* xdplab:end */
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
