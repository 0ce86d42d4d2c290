/* A correct udp-step program in another style: the legacy "maps" section
 * with a plain DEVMAP, the UDP header right after a 20-byte IP header
 * (the check sends no IP options), and the ports swapped by rotating the
 * 32-bit word that holds them both, which needs no byte order. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") if_redirect = {
	.type = BPF_MAP_TYPE_DEVMAP,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 128,
};

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->protocol == IPPROTO_UDP) {
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
	} else if (ip->protocol != IPPROTO_ICMP) {
		return XDP_PASS;
	}

	struct bpf_fib_lookup fib;
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = 2; /* AF_INET */
	fib.ipv4_src = ip->daddr;
	fib.ipv4_dst = ip->saddr;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ifindex = ctx->ingress_ifindex;
	int rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc == BPF_FIB_LKUP_RET_NO_NEIGH ? XDP_PASS : XDP_DROP;

	if (ip->protocol == IPPROTO_UDP) {
		/* Checked above, but the verifier forgets it across the two
		 * branches: prove it again where the ports are written. */
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		__u32 *ports = (void *)udp; /* source and dest, side by side */
		*ports = (*ports >> 16) | (*ports << 16);
	}
	__u32 daddr = ip->daddr;
	ip->daddr = ip->saddr;
	ip->saddr = daddr;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&if_redirect, fib.ifindex, 0);
}

char _license[] SEC("license") = "GPL";
