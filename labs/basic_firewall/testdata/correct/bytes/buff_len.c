/* A correct bytes step that takes the frame's length from
 * bpf_xdp_get_buff_len (the whole packet, fragments included, which is
 * data_end - data for the lab's frames) and adds atomically. */
#include "xdplab/parse.h"

struct key4 {
	__u32 len;
	__u32 addr;
};

struct counters {
	__u64 pkts;
	__u64 octets;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct key4);
	__type(value, __u32);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct counters);
	__uint(max_entries, 16);
} matches SEC(".maps");

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	struct iphdr *ip = parse_ipv4((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (!ip)
		return XDP_PASS;
	struct key4 key = { .len = 32, .addr = ip->saddr };
	__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
	if (!rule)
		return XDP_PASS;
	struct counters *c = bpf_map_lookup_elem(&matches, rule);
	if (c) {
		__sync_fetch_and_add(&c->pkts, 1);
		__sync_fetch_and_add(&c->octets, bpf_xdp_get_buff_len(ctx));
	}
	return XDP_DROP;
}

char __license[] SEC("license") = "GPL";
