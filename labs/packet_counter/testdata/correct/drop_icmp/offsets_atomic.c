/* A correct drop_icmp step read as bytes at fixed offsets, with an atomic
 * add and the verdict in one expression. */
#include <linux/bpf.h>
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
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;

	if (p + 14 + 20 > end || p[12] != 0x08 || p[13] != 0x00)
		return XDP_PASS;
	__u32 proto = p[14 + 9];
	__u64 *n = bpf_map_lookup_elem(&protocols, &proto);
	if (n)
		__sync_fetch_and_add(n, 1);
	return proto == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
