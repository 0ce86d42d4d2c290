//go:build ignore

/* basic_firewall, step ipv6: the base exercise's firewall, with a second
 * blacklist for IPv6 source prefixes. Rules of both families share the
 * index space of matches: a rule's index is its counter, whatever its
 * family. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The tutorial's limit: at most 16 rules, one counter per rule. */
#define MAX_RULES 16

/* An IPv4 LPM_TRIE key: the prefix length in bits, then the address in
 * network byte order. */
struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

/* The IPv6 key has the same shape with a 16-byte address: prefix lengths
 * go up to 128. */
struct lpm_key6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(max_entries, MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist SEC(".maps");

/* blacklist6 maps an IPv6 prefix (2001:db8::/32) to the index of its rule. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key6);
	__type(value, __u32);
	__uint(max_entries, MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist6 SEC(".maps");

/* matches counts the packets each rule dropped, by rule index, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, MAX_RULES);
} matches SEC(".maps");

/* drop counts a packet for the rule a lookup returned and drops it: the
 * same for both families. */
static __always_inline int drop(__u32 *rule)
{
	/* The index must be on the stack to serve as the next key. */
	__u32 index = *rule;
	__u64 *count = bpf_map_lookup_elem(&matches, &index);
	if (count)
		*count += 1;
	return XDP_DROP;
}

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		/* The IPv4 header must fit before we read saddr. */
		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		struct lpm_key key = {
			.prefixlen = 32,
			.addr = ip->saddr,
		};
		__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
		return rule ? drop(rule) : XDP_PASS;
	}

	/* xdplab:todo 1: find the IPv6 header: return XDP_PASS unless
	 * h_proto is bpf_htons(ETH_P_IPV6) (from linux/if_ether.h) and a
	 * whole struct ipv6hdr (linux/ipv6.h) fits before data_end, right
	 * after the Ethernet header. */
	if (eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS; /* neither IPv4 nor IPv6 (ARP, say): not judged */
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	/* The IPv6 header must fit before we read saddr. */
	if ((void *)(ip6 + 1) > data_end)
		return XDP_PASS;
	/* xdplab:end */

	/* xdplab:todo 2: look the IPv6 source up in blacklist6: a struct
	 * lpm_key6 with prefixlen 128 (an IPv6 address has 128 bits) and
	 * the 16 bytes of ip6->saddr copied into addr (__builtin_memcpy),
	 * then return drop(rule) when the lookup finds a rule and XDP_PASS
	 * when it returns NULL. */
	/* The full /128 of the source, its bytes as in the packet. */
	struct lpm_key6 key6 = { .prefixlen = 128 };
	__builtin_memcpy(key6.addr, &ip6->saddr, sizeof(key6.addr));
	__u32 *rule6 = bpf_map_lookup_elem(&blacklist6, &key6);
	return rule6 ? drop(rule6) : XDP_PASS;
	/* xdplab:else */
	// return XDP_PASS; /* IPv6 passes until you write TODO 1 and 2 */
	/* xdplab:end */
}

char __license[] SEC("license") = "GPL";
