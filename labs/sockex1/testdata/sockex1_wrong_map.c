/* Right names, wrong kind: my_map is a HASH, not an ARRAY, so --obj must
 * refuse it before loading. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, long);
	__uint(max_entries, 256);
} my_map SEC(".maps");

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	__u32 key = 0;
	long *v = bpf_map_lookup_elem(&my_map, &key);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	return 0;
}
char _license[] SEC("license") = "GPL";
