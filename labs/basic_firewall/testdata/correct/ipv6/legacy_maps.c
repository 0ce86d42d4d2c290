/* A correct ipv6 step in the tutorial's legacy style: three maps in the
 * "maps" section, and the IPv6 key's address copied as four 32-bit words. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") blacklist = {
	.type = BPF_MAP_TYPE_LPM_TRIE,
	.key_size = 8,
	.value_size = 4,
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") blacklist6 = {
	.type = BPF_MAP_TYPE_LPM_TRIE,
	.key_size = 20,
	.value_size = 4,
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") matches = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 16,
};

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 *rule = NULL;

	/* Bounds check: the Ethernet header. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		/* Bounds check: the IPv4 header. */
		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		__u32 key[2] = { 32, ip->saddr };
		rule = bpf_map_lookup_elem(&blacklist, key);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		/* Bounds check: the IPv6 header. */
		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		__u32 key6[5] = { 128 };
		key6[1] = ip6->saddr.in6_u.u6_addr32[0];
		key6[2] = ip6->saddr.in6_u.u6_addr32[1];
		key6[3] = ip6->saddr.in6_u.u6_addr32[2];
		key6[4] = ip6->saddr.in6_u.u6_addr32[3];
		rule = bpf_map_lookup_elem(&blacklist6, key6);
	}
	if (!rule)
		return XDP_PASS;
	__u32 index = *rule;
	__u64 *count = bpf_map_lookup_elem(&matches, &index);
	if (count)
		*count += 1;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
