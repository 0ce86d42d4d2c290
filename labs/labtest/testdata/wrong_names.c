/* A program that counts into a map named "counters" from a function named
 * "count": both names differ from the tutorial's, so --obj must refuse it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 255);
} counters SEC(".maps");

SEC("xdp")
int count(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *c = bpf_map_lookup_elem(&counters, &key);
	if (c)
		*c += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
