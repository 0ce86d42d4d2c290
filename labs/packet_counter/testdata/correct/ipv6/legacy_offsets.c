/* A correct ipv6 step in the legacy style: a "maps" section with struct
 * bpf_map_def, and both headers read as bytes at fixed offsets: the IPv4
 * protocol 9 bytes into its header, the IPv6 next header 6 bytes into its
 * own, each read only once the whole header fits. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") protocols = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 255,
};

SEC("xdp")
int packet_count(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u32 key;

	if (p + 14 > end)
		return XDP_PASS;
	if (p[12] == 0x08 && p[13] == 0x00) {
		if (p + 14 + 20 > end)
			return XDP_PASS;
		key = p[14 + 9];
	} else if (p[12] == 0x86 && p[13] == 0xdd) {
		if (p + 14 + 40 > end)
			return XDP_PASS;
		key = p[14 + 6];
	} else {
		return XDP_PASS;
	}
	__u64 *count = bpf_map_lookup_elem(&protocols, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
