/* A correct ipv6 step with one helper per family and a switch on the
 * EtherType, turned to host order with bpf_ntohs. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 255);
} protocols SEC(".maps");

static __always_inline void count(__u32 key)
{
	__u64 *n = bpf_map_lookup_elem(&protocols, &key);

	if (n)
		*n += 1;
}

static __always_inline void count_ipv4(struct iphdr *ip, void *data_end)
{
	if ((void *)(ip + 1) <= data_end)
		count(ip->protocol);
}

static __always_inline void count_ipv6(struct ipv6hdr *ip6, void *data_end)
{
	if ((void *)(ip6 + 1) <= data_end)
		count(ip6->nexthdr);
}

SEC("xdp")
int packet_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_IP:
		count_ipv4((void *)(eth + 1), data_end);
		break;
	case ETH_P_IPV6:
		count_ipv6((void *)(eth + 1), data_end);
		break;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
