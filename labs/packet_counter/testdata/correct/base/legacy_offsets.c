/* A correct packet_counter in the tutorial's older style: the legacy "maps"
 * section with struct bpf_map_def, the frame read as bytes at fixed
 * offsets (one bounds check covers Ethernet and IPv4 headers), and an
 * atomic add. check must pass it in both modes. */
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

#define ETH_HLEN 14
#define IPV4_HLEN 20

SEC("xdp")
int packet_count(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;

	/* Ethernet and the fixed IPv4 header, in one check. */
	if (p + ETH_HLEN + IPV4_HLEN > end)
		return XDP_PASS;
	/* The EtherType, big-endian on the wire: 0x0800 is IPv4. */
	if (p[12] != 0x08 || p[13] != 0x00)
		return XDP_PASS;
	__u32 key = p[ETH_HLEN + 9]; /* the protocol byte */
	__u64 *count = bpf_map_lookup_elem(&protocols, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
