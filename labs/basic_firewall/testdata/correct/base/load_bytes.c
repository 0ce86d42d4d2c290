/* A correct firewall that parses differently: it copies the EtherType and
 * the source address out of the frame with bpf_xdp_load_bytes instead of
 * reading through bounds-checked pointers, and counts with an atomic add
 * (needless in a per-CPU array, and harmless). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct trie_key {
	__u32 bits;
	__u8 octets[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct trie_key);
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

/* Offsets in the frame: the EtherType after two MAC addresses, the IPv4
 * source 12 bytes into the IPv4 header. */
#define OFF_PROTO 12
#define OFF_SADDR (ETH_HLEN + 12)

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	__be16 proto;
	/* The helper fails on a frame too short for what it copies. */
	if (bpf_xdp_load_bytes(ctx, OFF_PROTO, &proto, sizeof(proto)))
		return XDP_PASS;
	if (proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct trie_key key = { .bits = 32 };
	if (bpf_xdp_load_bytes(ctx, OFF_SADDR, key.octets, sizeof(key.octets)))
		return XDP_PASS;
	__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
	if (!rule)
		return XDP_PASS;
	__u32 index = *rule;
	__u64 *count = bpf_map_lookup_elem(&matches, &index);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_DROP;
}

char __license[] SEC("license") = "GPL";
