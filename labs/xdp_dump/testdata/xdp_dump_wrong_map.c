/* Right names, wrong kind: perfmap is an ARRAY, not a PERF_EVENT_ARRAY, so
 * --obj must refuse it before loading. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 128);
} perfmap SEC(".maps");

SEC("xdp")
int xdp_dump(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u32 *v = bpf_map_lookup_elem(&perfmap, &key);
	if (v)
		*v += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
