/* A correct firewall in the style of the go-xdp-examples tutorial: maps in
 * the legacy "maps" section (struct bpf_map_def, no BTF for them), header
 * structs of its own, the EtherType compared with a constant already in
 * wire order, XDP_ABORTED for frames too short for their headers, and the
 * rule index read through a wider pointer, as the tutorial does. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") matches = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 16,
};

struct bpf_map_def SEC("maps") blacklist = {
	.type = BPF_MAP_TYPE_LPM_TRIE,
	.key_size = sizeof(__u64), /* {u32 prefixlen; u32 addr} */
	.value_size = sizeof(__u32),
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct eth_hdr {
	__u8 dst[6];
	__u8 src[6];
	__u16 proto;
} __attribute__((packed));

struct ipv4_hdr {
	__u8 ver_ihl;
	__u8 tos;
	__u16 len;
	__u16 id;
	__u16 frag;
	__u8 ttl;
	__u8 proto;
	__u16 csum;
	__u32 src;
	__u32 dst;
} __attribute__((packed));

/* 0x0800 as the two bytes 08 00 read on a little-endian machine. */
#define IPV4_WIRE 0x0008

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct eth_hdr *eth = data;

	/* Bounds check: the Ethernet header must fit. */
	if (data + sizeof(*eth) > data_end)
		return XDP_ABORTED;
	if (eth->proto != IPV4_WIRE)
		return XDP_PASS;
	struct ipv4_hdr *ip = data + sizeof(*eth);
	/* Bounds check: the IPv4 header must fit. */
	if ((void *)ip + sizeof(*ip) > data_end)
		return XDP_ABORTED;

	struct {
		__u32 prefixlen;
		__u32 src;
	} key = { 32, ip->src };
	__u64 *rule_idx = bpf_map_lookup_elem(&blacklist, &key);
	if (rule_idx) {
		__u32 index = *(__u32 *)rule_idx;
		__u64 *counter = bpf_map_lookup_elem(&matches, &index);
		if (counter)
			(*counter)++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
