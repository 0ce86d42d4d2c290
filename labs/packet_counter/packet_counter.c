//go:build ignore

/* packet_counter: count packets per IPv4 protocol as they arrive on an
 * interface, then let them through. This is the go-xdp-examples program: the
 * same map name (protocols), layout and program name (packet_count), so the
 * tutorial's own object loads with `xdplab up packet_counter --obj`. */

#include "xdplab/parse.h"

/* One counter per IP protocol number (IPPROTO_ICMP = 1, TCP = 6, UDP = 17).
 * PERCPU_ARRAY: each CPU increments its own copy without atomics; user space
 * sums the copies when it reads. 255 entries as in the tutorial. */
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
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS; /* not IPv4 (or too short): not ours to count */

	__u32 key = ip->protocol;
	__u64 *count = bpf_map_lookup_elem(&protocols, &key);
	/* Lookups can fail (key 255 is past the end): the verifier insists we check. */
	if (count)
		*count += 1;

	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
