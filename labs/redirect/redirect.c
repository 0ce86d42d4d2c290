//go:build ignore

/* redirect: reflect ICMP back to whoever sent it, as go-xdp-examples'
 * bpf_redirect_map does. The kernel's routing table decides where "back" is:
 * bpf_fib_lookup with source and destination swapped returns the egress
 * interface and both MAC addresses, and bpf_redirect_map sends the rewritten
 * frame out through the DEVMAP `if_redirect`. Program and map names are the
 * tutorial's (xdp_test, if_redirect), so its object loads with --obj. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

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
	RESULT_FIB_ERROR = 15, /* bpf_fib_lookup returned < 0: bad arguments */
	RESULT_ACTION = 16,    /* + what bpf_redirect_map returned (XDP_ABORTED 0 .. XDP_REDIRECT 4) */
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

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	/* ARP and everything else that is not IPv4 goes to the kernel. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	/* The IPv4 header must fit before we read or write its fields. */
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;

	long rc;
	/* xdplab:todo 1: ask the routing table how node1 would answer the
	 * sender: fill a struct bpf_fib_lookup fib = {} with family =
	 * AF_INET, the addresses swapped (ipv4_src = ip->daddr, ipv4_dst =
	 * ip->saddr: the way back), tot_len = bpf_ntohs(ip->tot_len) and
	 * ifindex = ctx->ingress_ifindex, then rc = bpf_fib_lookup(ctx, &fib,
	 * sizeof(fib), 0). */
	struct bpf_fib_lookup fib = {};
	fib.family = AF_INET;
	fib.ipv4_src = ip->daddr;
	fib.ipv4_dst = ip->saddr;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 1 */
	/* xdplab:end */
	/* What the lookup answered, for `xdplab watch` and the check's hints. */
	count(rc < 0 ? RESULT_FIB_ERROR : rc);

	/* xdplab:todo 2: act on the lookup's answer: on
	 * BPF_FIB_LKUP_RET_NO_NEIGH (node1 does not know the sender's MAC yet,
	 * and fib.dmac is empty) return XDP_PASS, so that the kernel resolves
	 * it; on any other answer but BPF_FIB_LKUP_RET_SUCCESS return
	 * XDP_DROP. */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;
	/* xdplab:end */

	/* xdplab:todo 3: turn the packet around: swap ip->saddr and ip->daddr
	 * (neither the IP nor the ICMP checksum changes with their order), and
	 * copy the lookup's MACs into the Ethernet header: fib.dmac into
	 * eth->h_dest, fib.smac into eth->h_source (ETH_ALEN bytes each). */
	__be32 daddr = ip->daddr;
	ip->daddr = ip->saddr;
	ip->saddr = daddr;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	/* xdplab:end */

	long action;
	/* xdplab:todo 4: send the frame out of the interface the lookup chose,
	 * through the DEVMAP: action = bpf_redirect_map(&if_redirect,
	 * fib.ifindex, 0). With flags 0, a key missing from if_redirect makes
	 * it return XDP_ABORTED. */
	action = bpf_redirect_map(&if_redirect, fib.ifindex, 0);
	/* xdplab:else */
	// action = XDP_PASS; /* remove this line when you write TODO 4 */
	/* xdplab:end */
	count(RESULT_ACTION + action);
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
