//go:build ignore

/* redirect: reflect ICMP back to whoever sent it, as go-xdp-examples'
 * bpf_redirect_map does. The kernel's routing table decides where "back" is:
 * bpf_fib_lookup with source and destination swapped returns the egress
 * interface and both MAC addresses, and bpf_redirect_map sends the rewritten
 * frame out through the DEVMAP `if_redirect`. Program and map names are the
 * tutorial's (xdp_test, if_redirect), so its object loads with --obj. */

#include <linux/in.h>

#include "xdplab/parse.h"

#define AF_INET 2 /* <sys/socket.h> is not for BPF targets */

/* Egress interfaces for bpf_redirect_map, keyed by ifindex (value: the same
 * ifindex). A DEVMAP_HASH takes any ifindex as key; a plain DEVMAP is an array
 * indexed by ifindex and needs max_entries above the largest ifindex on the
 * machine. User space fills it from inside node1's namespace: the kernel
 * resolves the ifindex values in the namespace of the thread that updates
 * the map. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 64);
} if_redirect SEC(".maps");

/* Slots of fib_results past the BPF_FIB_LKUP_RET_* codes (0..9 today). */
enum {
	RESULT_FIB_ERROR = 15,  /* bpf_fib_lookup returned < 0: bad arguments */
	RESULT_REDIRECTED = 16, /* bpf_redirect_map returned XDP_REDIRECT */
	RESULT_NO_DEVMAP = 17,  /* egress ifindex missing from if_redirect */
	RESULT_SLOTS = 32,
};

/* How each ICMP packet fared, so `xdplab watch` and the check's hints can
 * say why nothing was reflected. Index = BPF_FIB_LKUP_RET_* code, or one of
 * the RESULT_* slots above. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, RESULT_SLOTS);
} fib_results SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&fib_results, &slot);
	/* The verifier insists on the NULL check even for in-range keys. */
	if (c)
		*c += 1;
}

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* parse_ipv4 checks that the Ethernet and IPv4 headers lie inside the
	 * packet: every field written below is within those bounds. */
	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS; /* ARP and everything not IPv4 goes to the kernel */
	if (ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;

	/* Ask the routing table how node1 would answer the sender: source and
	 * destination swapped, looked up as if the packet arrived where this
	 * one did. The ingress interface must have forwarding on, or the lookup
	 * returns FWD_DISABLED. */
	struct bpf_fib_lookup fib = {};
	fib.family = AF_INET;
	fib.ipv4_src = ip->daddr;
	fib.ipv4_dst = ip->saddr;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ifindex = ctx->ingress_ifindex;

	long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc < 0) {
		count(RESULT_FIB_ERROR);
		return XDP_DROP;
	}
	count(rc);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS; /* the kernel resolves the neighbour (ARP); the next packet can go */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;

	/* Reflect: swap the addresses. Neither the IP header checksum nor the
	 * ICMP checksum (no pseudo-header in IPv4) changes with the order. */
	__be32 daddr = ip->daddr;
	ip->daddr = ip->saddr;
	ip->saddr = daddr;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);

	/* With flags 0 a missing key makes the helper return XDP_ABORTED. */
	long action = bpf_redirect_map(&if_redirect, fib.ifindex, 0);
	count(action == XDP_REDIRECT ? RESULT_REDIRECTED : RESULT_NO_DEVMAP);
	return action;
}

/* xdp_pass goes on the veth peers in native mode: a veth only accepts frames
 * redirected to it by XDP when its peer runs an XDP program too. The check
 * also swaps it in for xdp_test to show the network without reflection. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
