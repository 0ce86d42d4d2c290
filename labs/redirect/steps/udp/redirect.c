//go:build ignore

/* redirect, step udp: reflect UDP datagrams as well as ICMP. A datagram
 * comes back to the very socket that sent it when its ports are swapped
 * along with its addresses: the sender then reads it as the answer of the
 * address and port it wrote to. Everything else (TCP) still goes to the
 * kernel, which routes it on. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2 /* <sys/socket.h> is not for BPF targets */

/* Egress interfaces for bpf_redirect_map, keyed by ifindex (value: the same
 * ifindex), filled by user space from inside node1's namespace. */
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

/* How each reflected packet fared, for `xdplab watch` and the check. */
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
	/* xdplab:todo 1: reflect UDP (IPPROTO_UDP) as well as ICMP: return
	 * XDP_PASS for every other protocol, and only for those. */
	if (ip->protocol != IPPROTO_ICMP && ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	/* xdplab:else */
	// if (ip->protocol != IPPROTO_ICMP)
	// 	return XDP_PASS;
	/* xdplab:end */

	/* The way back, as in the base exercise. */
	struct bpf_fib_lookup fib = {};
	fib.family = AF_INET;
	fib.ipv4_src = ip->daddr;
	fib.ipv4_dst = ip->saddr;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ifindex = ctx->ingress_ifindex;
	long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	count(rc < 0 ? RESULT_FIB_ERROR : rc);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS; /* the kernel resolves the neighbour */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;

	if (ip->protocol == IPPROTO_UDP) {
		/* xdplab:todo 2: swap the datagram's ports, udp->source and
		 * udp->dest, keeping one in a variable while you copy the
		 * other. The UDP header starts ip->ihl * 4 bytes after the IP
		 * header's start: return XDP_PASS, untouched, unless a whole
		 * struct udphdr fits before data_end. The UDP checksum stays
		 * right: it sums 16-bit words, whatever their order. */
		struct udphdr *udp = (void *)ip + ip->ihl * 4;
		/* The UDP header must fit before we swap its ports. */
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		__be16 port = udp->source;
		udp->source = udp->dest;
		udp->dest = port;
		/* xdplab:end */
	}

	/* Turn the packet around: addresses swapped, MACs from the lookup. */
	__be32 daddr = ip->daddr;
	ip->daddr = ip->saddr;
	ip->saddr = daddr;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);

	long action = bpf_redirect_map(&if_redirect, fib.ifindex, 0);
	count(RESULT_ACTION + action);
	return action;
}

char __license[] SEC("license") = "GPL";
