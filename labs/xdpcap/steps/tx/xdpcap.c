//go:build ignore

/* xdpcap lab, step tx: answer pings from XDP. An ICMP echo request to node1
 * is turned into its echo reply where it lies and sent back out of the
 * interface it came in on with XDP_TX: node1's kernel never sees it. UDP to
 * port 9 is still dropped and the rest passed, and every verdict leaves
 * through the xdpcap hook, so `xdplab capture xdpcap --actions tx` shows
 * the replies as they leave. */
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

#define DISCARD_PORT 9

/* The ICMP echo header, as linux/icmp.h has it (that header pulls in the C
 * library's, which a BPF build lacks). */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

/* echo_reply answers an echo request: it turns the frame into the reply
 * and says XDP_TX. Anything else that is ICMP passes. */
static __always_inline enum xdp_action echo_reply(struct ethhdr *eth, struct iphdr *ip, void *data_end)
{
	/* A fragment of a large ping cannot be answered piece by piece. */
	if (ip->frag_off & bpf_htons(0x3fff))
		return XDP_PASS;
	struct icmphdr *icmp = (void *)ip + ip->ihl * 4;
	/* The ICMP header must fit before we read its type. */
	if ((void *)(icmp + 1) > data_end)
		return XDP_PASS;
	if (icmp->type != ICMP_ECHO || icmp->code != 0)
		return XDP_PASS;

	/* xdplab:todo 1: turn the request into its reply, in place: swap
	 * eth->h_source and eth->h_dest (__builtin_memcpy through a
	 * 6-byte buffer), swap ip->saddr and ip->daddr (the IP checksum
	 * stays right: it sums both the same), set icmp->type to
	 * ICMP_ECHOREPLY, and update icmp->checksum for the type's change
	 * (RFC 1624: sum ~old checksum, ~old word and new word, fold the
	 * carries back in, complement); the checksum is in network byte
	 * order. */
	unsigned char mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	__be32 addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;

	/* The 16-bit word that holds type and code goes from 0x0800 to
	 * 0x0000 (network byte order): HC' = ~(~HC + ~m + m'). */
	__u32 sum = (__u16)~bpf_ntohs(icmp->checksum);
	sum += (__u16)~(ICMP_ECHO << 8);
	sum += ICMP_ECHOREPLY << 8;
	/* Fold the carries back into 16 bits: twice is enough. */
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	icmp->type = ICMP_ECHOREPLY;
	icmp->checksum = bpf_htons((__u16)~sum);
	/* xdplab:end */
	/* xdplab:todo 2: send the reply back out of the interface the
	 * request came in on: return XDP_TX. */
	return XDP_TX;
	/* xdplab:else */
	// return XDP_PASS; /* replace this line when you write TODO 2 */
	/* xdplab:end */
}

/* decide answers pings, drops UDP to port 9 and passes the rest. */
static __always_inline enum xdp_action decide(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS; /* ARP, IPv6, runts */
	/* A header shorter than 20 bytes is malformed: leave it to the kernel. */
	if (ip->ihl < 5)
		return XDP_PASS;
	if (ip->protocol == IPPROTO_ICMP)
		return echo_reply(data, ip, data_end);
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	/* Only the first fragment carries the UDP header. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return XDP_PASS;

	/* The UDP header starts after the IP options, ihl * 4 bytes in. */
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	/* The UDP header must fit before we read its destination port. */
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (udp->dest == bpf_htons(DISCARD_PORT))
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_discard(struct xdp_md *ctx)
{
	return xdpcap_exit(ctx, &xdpcap_hook, decide(ctx));
}

char __license[] SEC("license") = "GPL";
