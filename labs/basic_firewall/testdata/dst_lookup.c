/* A learner's mistake for the check to catch (issue 12): the firewall looks
 * up the destination address instead of the source. With `--drop
 * 192.168.0.0/24` every ping to node1 (192.168.0.2) is dropped and counted,
 * so a check that only pings from the host cannot tell it from the right
 * program; the check's own source and rule must. */
#include "../../../bpf/parse.h"

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
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
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS;

	struct lpm_key key = {
		.prefixlen = 32,
		.addr = ip->daddr, /* the mistake: the rules are about sources */
	};
	__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
	if (!rule)
		return XDP_PASS;

	__u32 index = *rule;
	__u64 *count = bpf_map_lookup_elem(&matches, &index);
	if (count)
		*count += 1;
	return XDP_DROP;
}

char __license[] SEC("license") = "GPL";
