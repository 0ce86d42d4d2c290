/* A correct base program in another style: a DEVMAP_HASH whose values are
 * struct bpf_devmap_val (an ifindex and an optional program), headers read
 * at fixed offsets from data, the addresses swapped through a copy of the
 * IP header's address words, and XDP_PASS as bpf_redirect_map's fallback
 * action: with no interface in the DEVMAP, packets go to the kernel and
 * nothing is reflected. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
	__uint(max_entries, 8);
} if_redirect SEC(".maps");

#define ETH_LEN 14
#define IP_LEN 20

SEC("xdp")
int xdp_test(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* Ethernet and a fixed IPv4 header must fit before any read. */
	if ((void *)(p + ETH_LEN + IP_LEN) > data_end)
		return XDP_PASS;
	/* EtherType 0x0800 (IPv4), byte by byte: no byte order to get wrong. */
	if (p[12] != 0x08 || p[13] != 0x00)
		return XDP_PASS;
	/* Protocol: byte 9 of the IPv4 header; 1 is ICMP. */
	if (p[ETH_LEN + 9] != 1)
		return XDP_PASS;

	__u32 addrs[2]; /* source, destination, as in the packet */
	__builtin_memcpy(addrs, p + ETH_LEN + 12, sizeof(addrs));

	struct bpf_fib_lookup fib = {
		.family = 2, /* AF_INET */
		.ipv4_src = addrs[1],
		.ipv4_dst = addrs[0],
		.ifindex = ctx->ingress_ifindex,
	};
	long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;

	__builtin_memcpy(p + ETH_LEN + 12, &addrs[1], 4);
	__builtin_memcpy(p + ETH_LEN + 16, &addrs[0], 4);
	__builtin_memcpy(p, fib.dmac, ETH_ALEN);
	__builtin_memcpy(p + ETH_ALEN, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&if_redirect, fib.ifindex, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
