/* A correct program for the tx step in another style: the checksum
 * updated in the wire's byte order throughout (a one's complement sum
 * comes out the same in either order, as long as every word is read the
 * same way), the hook with BTF key and value types and a hand-written
 * exit, and the decision in a switch over the protocol. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 5);
	__type(key, int);
	__type(value, int);
} xdpcap_hook SEC(".maps");

static __always_inline int leave(struct xdp_md *ctx, int action)
{
	bpf_tail_call(ctx, &xdpcap_hook, action);
	return action;
}

static __always_inline int pong(struct ethhdr *eth, struct iphdr *ip, void *end)
{
	__u16 *icmp = (void *)ip + ip->ihl * 4;
	/* type and code, checksum, id, sequence: four 16-bit words. */
	if ((void *)(icmp + 4) > end)
		return XDP_PASS;
	__u8 *tc = (__u8 *)icmp;
	if (tc[0] != 8 || tc[1] != 0 || (ip->frag_off & bpf_htons(0x3fff)))
		return XDP_PASS;

	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	__be32 a = ip->daddr;
	ip->daddr = ip->saddr;
	ip->saddr = a;

	__u16 old = icmp[0];
	tc[0] = 0;
	__u32 sum = (__u16)~icmp[1];
	sum += (__u16)~old;
	sum += icmp[0];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	icmp[1] = (__u16)~sum;
	return XDP_TX;
}

SEC("xdp")
int xdp_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl < 5)
		return leave(ctx, XDP_PASS);
	switch (ip->protocol) {
	case IPPROTO_ICMP:
		return leave(ctx, pong(eth, ip, end));
	case IPPROTO_UDP: {
		struct udphdr *udp = (void *)ip + ip->ihl * 4;
		if ((ip->frag_off & bpf_htons(0x1fff)) || (void *)(udp + 1) > end)
			return leave(ctx, XDP_PASS);
		return leave(ctx, udp->dest == bpf_htons(9) ? XDP_DROP : XDP_PASS);
	}
	}
	return leave(ctx, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
