/* A correct ipv6 step that reads nothing through packet pointers: one
 * function per family copies the source out of the frame with
 * bpf_xdp_load_bytes into its key and returns the rule it finds. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct v4key {
	__u32 plen;
	__u8 a[4];
};

struct v6key {
	__u32 plen;
	__u8 a[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct v4key);
	__type(value, __u32);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct v6key);
	__type(value, __u32);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} matches SEC(".maps");

static __always_inline __u32 *rule4(struct xdp_md *ctx)
{
	struct v4key k = { .plen = 32 };
	/* IPv4 source: 12 bytes into the IPv4 header. */
	if (bpf_xdp_load_bytes(ctx, ETH_HLEN + 12, k.a, sizeof(k.a)))
		return NULL;
	return bpf_map_lookup_elem(&blacklist, &k);
}

static __always_inline __u32 *rule6(struct xdp_md *ctx)
{
	struct v6key k = { .plen = 128 };
	/* IPv6 source: 8 bytes into the IPv6 header. */
	if (bpf_xdp_load_bytes(ctx, ETH_HLEN + 8, k.a, sizeof(k.a)))
		return NULL;
	return bpf_map_lookup_elem(&blacklist6, &k);
}

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	__be16 proto;
	if (bpf_xdp_load_bytes(ctx, 12, &proto, sizeof(proto)))
		return XDP_PASS;
	__u32 *rule;
	if (proto == bpf_htons(ETH_P_IP))
		rule = rule4(ctx);
	else if (proto == bpf_htons(ETH_P_IPV6))
		rule = rule6(ctx);
	else
		return XDP_PASS;
	if (!rule)
		return XDP_PASS;
	__u32 index = *rule;
	__u64 *n = bpf_map_lookup_elem(&matches, &index);
	if (n)
		*n += 1;
	return XDP_DROP;
}

char __license[] SEC("license") = "GPL";
