//go:build ignore

/* redirect, step arp: answer ARP requests for node1's own addresses from
 * XDP, before the kernel sees them, and reflect ICMP as in the base
 * exercise. An ARP request asks "who has this address?" on one link, so the
 * answer goes back out of the interface it came in on: no route lookup
 * decides anything here. The addresses node1 answers for, and the MAC to
 * answer with, are in arp_table, which user space fills. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2 /* <sys/socket.h> is not for BPF targets */

/* ARP's constants and its IPv4-over-Ethernet layout, as <linux/if_arp.h>
 * has them (that header pulls in libc's, which a BPF target lacks). */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

struct arp_ipv4 {
	__be16 ar_hrd; /* hardware type: ARPHRD_ETHER */
	__be16 ar_pro; /* protocol type: ETH_P_IP */
	__u8 ar_hln;   /* hardware address length: 6 */
	__u8 ar_pln;   /* protocol address length: 4 */
	__be16 ar_op;  /* ARPOP_REQUEST or ARPOP_REPLY */
	__u8 ar_sha[ETH_ALEN]; /* sender: who asks (request) or answers (reply) */
	__u8 ar_sip[4];
	__u8 ar_tha[ETH_ALEN]; /* target: zeros in a request */
	__u8 ar_tip[4];        /* the address asked for */
};

struct mac_addr {
	__u8 addr[ETH_ALEN];
};

/* node1's addresses: IPv4 address, in network byte order as in packets ->
 * the MAC of the interface that holds it. up fills it from node1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, struct mac_addr);
	__uint(max_entries, 16);
} arp_table SEC(".maps");

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
	RESULT_FIB_ERROR = 15,   /* bpf_fib_lookup returned < 0: bad arguments */
	RESULT_ACTION = 16,      /* + what bpf_redirect_map returned (XDP_ABORTED 0 .. XDP_REDIRECT 4) */
	RESULT_ARP_ANSWERED = 24, /* an ARP request answered */
	RESULT_ARP_NOT_OURS = 25, /* an ARP request for an address not in arp_table */
	RESULT_SLOTS = 32,
};

/* How each packet fared, for `xdplab watch` and the check's hints. */
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

/* arp_request returns the ARP header of an ARP request for an IPv4 address
 * over Ethernet, or NULL for any other frame. */
static __always_inline struct arp_ipv4 *arp_request(struct ethhdr *eth, void *data_end)
{
	/* xdplab:todo 1: return NULL unless the frame is an ARP request for
	 * IPv4 over Ethernet: eth->h_proto is bpf_htons(ETH_P_ARP), a whole
	 * struct arp_ipv4 fits after the Ethernet header (before data_end),
	 * ar_hrd is bpf_htons(ARPHRD_ETHER), ar_pro bpf_htons(ETH_P_IP) and
	 * ar_op bpf_htons(ARPOP_REQUEST); then return the header. */
	if (eth->h_proto != bpf_htons(ETH_P_ARP))
		return NULL;
	struct arp_ipv4 *arp = (void *)(eth + 1);
	/* The whole ARP header, addresses included, must fit before we read it. */
	if ((void *)(arp + 1) > data_end)
		return NULL;
	if (arp->ar_hrd != bpf_htons(ARPHRD_ETHER) || arp->ar_pro != bpf_htons(ETH_P_IP) ||
	    arp->ar_op != bpf_htons(ARPOP_REQUEST))
		return NULL;
	return arp;
	/* xdplab:else */
	// return NULL; /* remove this line when you write TODO 1 */
	/* xdplab:end */
}

/* answer_arp turns an ARP request for one of node1's addresses into the
 * reply and sends it back; anything else goes to the kernel. */
static __always_inline int answer_arp(struct ethhdr *eth, struct arp_ipv4 *arp)
{
	/* xdplab:todo 2: find the address asked for in arp_table: the key is
	 * the 4 bytes of arp->ar_tip as they are (network byte order), copied
	 * into a __be32 target; mac = bpf_map_lookup_elem(&arp_table,
	 * &target). */
	__be32 target;
	__builtin_memcpy(&target, arp->ar_tip, sizeof(target));
	struct mac_addr *mac = bpf_map_lookup_elem(&arp_table, &target);
	/* xdplab:else */
	// struct mac_addr *mac = NULL; /* remove this line when you write TODO 2 */
	/* xdplab:end */
	if (!mac) {
		count(RESULT_ARP_NOT_OURS);
		return XDP_PASS; /* not node1's address: the kernel decides */
	}

	/* xdplab:todo 3: turn the request into the reply, in place: ar_op =
	 * bpf_htons(ARPOP_REPLY); the asker becomes the target (ar_tha =
	 * ar_sha, ar_tip = ar_sip); node1 becomes the sender (ar_sha =
	 * mac->addr, ar_sip = the address asked for); and the Ethernet header
	 * goes from node1 (h_source = mac->addr) to the asker (h_dest = its
	 * old h_source). */
	arp->ar_op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(arp->ar_tha, arp->ar_sha, ETH_ALEN);
	__builtin_memcpy(arp->ar_tip, arp->ar_sip, 4);
	__builtin_memcpy(arp->ar_sha, mac->addr, ETH_ALEN);
	__builtin_memcpy(arp->ar_sip, &target, 4);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac->addr, ETH_ALEN);
	/* xdplab:end */
	count(RESULT_ARP_ANSWERED);

	/* xdplab:todo 4: send the reply back out of the interface the request
	 * came in on: return XDP_TX (bpf_redirect_map(&if_redirect,
	 * ctx->ingress_ifindex, 0) does the same through the DEVMAP). */
	return XDP_TX;
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 4 */
	/* xdplab:end */
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
	struct arp_ipv4 *arp = arp_request(eth, data_end);
	if (arp)
		return answer_arp(eth, arp);
	/* Everything else that is not IPv4 goes to the kernel. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	/* The IPv4 header must fit before we read or write its fields. */
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;

	/* ICMP: reflected as in the base exercise. */
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
