/* A correct firewall built on the lab's shared parsing helper
 * (xdplab/parse.h), with the verdict folded into one expression. */
#include "xdplab/parse.h"

struct lpm_v4_key {
	__u32 prefixlen;
	__be32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} matches SEC(".maps");

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	/* parse_ipv4 checks the bounds and the EtherType. */
	struct iphdr *ip = parse_ipv4((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (!ip)
		return XDP_PASS;
	struct lpm_v4_key key = { 32, ip->saddr };
	__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
	__u64 *count = rule ? bpf_map_lookup_elem(&matches, rule) : NULL;
	if (count)
		*count += 1;
	return rule ? XDP_DROP : XDP_PASS;
}

char __license[] SEC("license") = "GPL";
