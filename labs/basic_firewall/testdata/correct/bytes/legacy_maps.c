/* A correct bytes step in the tutorial's legacy style: maps in the "maps"
 * section, the value a pair of __u64 declared as an array, and the length
 * computed from the context's 32-bit fields. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
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
	.value_size = sizeof(__u32),
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

/* [0] packets, [1] bytes. */
struct bpf_map_def SEC("maps") matches = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = 2 * sizeof(__u64),
	.max_entries = 16,
};

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	/* Bounds check: Ethernet, then IPv4. */
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	__u32 key[2] = { 32, ip->saddr };
	__u32 *rule = bpf_map_lookup_elem(&blacklist, key);
	if (!rule)
		return XDP_PASS;
	__u32 index = *rule;
	__u64 *counters = bpf_map_lookup_elem(&matches, &index);
	if (counters) {
		counters[0] += 1;
		counters[1] += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
