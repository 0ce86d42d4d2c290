//go:build ignore

/* basic_firewall: drop IPv4 packets whose source address is in a blacklist of
 * CIDR prefixes, count the drops per rule, and let everything else through.
 * This is the go-xdp-examples program: the same program name (firewall), map
 * names (blacklist, matches) and layouts, so the tutorial's own object loads
 * with `xdplab up basic_firewall --obj`. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

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
	struct ethhdr *eth = data;

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	/* h_proto is in network byte order, as on the wire. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* not IPv4 (ARP, say): this firewall only judges IPv4 */
	struct iphdr *ip = (void *)(eth + 1);
	/* The IPv4 header must fit before we read saddr. */
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;

	/* xdplab:todo 1: look the source address up in blacklist: a struct
	 * lpm_key on the stack with prefixlen 32 and addr = ip->saddr (as it
	 * is, in network byte order), then __u32 *rule =
	 * bpf_map_lookup_elem(&blacklist, &key); return XDP_PASS when it is
	 * NULL (no rule contains the source). Rule index 0 is a rule too. */
	/* The full /32 of the source: the trie finds the longest rule prefix
	 * that contains it, if any. */
	struct lpm_key key = {
		.prefixlen = 32,
		.addr = ip->saddr,
	};
	__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
	if (!rule)
		return XDP_PASS; /* no rule matches the source */
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 1 */
	/* xdplab:end */

	/* xdplab:todo 2: count the drop for its rule: the value *rule is the
	 * index into matches; copy it to a __u32 on the stack, look up
	 * __u64 *count = bpf_map_lookup_elem(&matches, &index) and add 1 to
	 * *count when it is not NULL (the verifier insists on the check). */
	/* Copy the index to the stack: the key of the next lookup must be
	 * memory the program owns. An index past MAX_RULES returns NULL. */
	__u32 index = *rule;
	__u64 *count = bpf_map_lookup_elem(&matches, &index);
	if (count)
		*count += 1;
	/* xdplab:end */

	/* xdplab:todo 3: drop the packet: return XDP_DROP (not XDP_ABORTED,
	 * which is for programs that fail). */
	return XDP_DROP;
	/* xdplab:else */
	// return XDP_PASS;
	/* xdplab:end */
}

char __license[] SEC("license") = "GPL";
