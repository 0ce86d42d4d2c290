//go:build ignore

/* basic_firewall: drop IPv4 packets whose source address is in a blacklist of
 * CIDR prefixes, count the drops per rule, and let everything else through.
 * This is the go-xdp-examples program: the same program name (firewall), map
 * names (blacklist, matches) and layouts, so the tutorial's own object loads
 * with `xdplab up basic_firewall --obj`. */

#include "xdplab/parse.h"

/* The tutorial's limit: at most 16 rules, one counter per rule. */
#define MAX_RULES 16

/* An LPM_TRIE key always starts with the prefix length in bits, followed by
 * the address bytes in network byte order (as they are in the packet), so the
 * trie can compare them bit by bit from the most significant one. */
struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

/* blacklist maps a prefix (10.0.0.0/8) to the index of its rule. A lookup
 * returns the entry with the longest prefix that contains the address, like a
 * routing table. The kernel insists that LPM tries are created with
 * BPF_F_NO_PREALLOC: their nodes are allocated as entries are added. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(max_entries, MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist SEC(".maps");

/* matches counts the packets each rule dropped, indexed by rule index.
 * PERCPU_ARRAY: each CPU increments its own copy without atomics; user space
 * sums the copies when it reads. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, MAX_RULES);
} matches SEC(".maps");

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* parse_ipv4 checks that the Ethernet and IPv4 headers fit before
	 * data_end; without that check the verifier rejects the read of saddr. */
	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS; /* not IPv4 (ARP, say): this firewall only judges IPv4 */

	/* Look the source address up with the full /32: the trie finds the
	 * longest rule prefix that contains it, if any. */
	struct lpm_key key = {
		.prefixlen = 32,
		.addr = ip->saddr,
	};
	__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
	if (!rule)
		return XDP_PASS; /* no rule matches the source */

	/* The verifier wants the counter lookup checked too: an index past
	 * MAX_RULES would return NULL. */
	__u32 index = *rule;
	__u64 *count = bpf_map_lookup_elem(&matches, &index);
	if (count)
		*count += 1;
	return XDP_DROP;
}

char __license[] SEC("license") = "GPL";
