/* Reads the IP protocol without checking data_end: the verifier must reject
 * it, and xdplab must show the learner the verifier's log. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 255);
} protocols SEC(".maps");

SEC("xdp")
int packet_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 key = ip->protocol; /* no bounds check */
	__u64 *count = bpf_map_lookup_elem(&protocols, &key);
	if (count)
		*count += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
