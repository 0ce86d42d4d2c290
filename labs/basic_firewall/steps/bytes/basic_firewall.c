//go:build ignore

/* basic_firewall, step bytes: the base exercise's firewall, which keeps two
 * counters per rule instead of one: the packets it dropped and their bytes,
 * the whole frame as XDP sees it, Ethernet header included. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The tutorial's limit: at most 16 rules, one counter per rule. */
#define MAX_RULES 16

/* An LPM_TRIE key: the prefix length in bits, then the address in network
 * byte order, as in the packet. */
struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

/* blacklist maps a prefix to the index of its rule; the longest prefix that
 * contains the looked-up address wins. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(max_entries, MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist SEC(".maps");

/* What matches holds per rule now: packets and bytes dropped. User space
 * reads the two fields in this order, 16 bytes per CPU. */
struct match_stats {
	__u64 packets;
	__u64 bytes;
};

/* PERCPU_ARRAY: each CPU adds to its own copy of the struct without
 * atomics; user space sums the copies field by field. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct match_stats);
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
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* not IPv4: not judged */
	struct iphdr *ip = (void *)(eth + 1);
	/* The IPv4 header must fit before we read saddr. */
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;

	struct lpm_key key = {
		.prefixlen = 32,
		.addr = ip->saddr,
	};
	__u32 *rule = bpf_map_lookup_elem(&blacklist, &key);
	if (!rule)
		return XDP_PASS; /* no rule matches the source */

	/* The index must be on the stack to serve as the next key. */
	__u32 index = *rule;
	struct match_stats *stats = bpf_map_lookup_elem(&matches, &index);
	/* The verifier insists on the NULL check: an index past MAX_RULES
	 * finds nothing. */
	if (stats) {
		/* xdplab:todo 1: count the dropped packet in *stats: add 1 to
		 * stats->packets and the frame's length, data_end - data (the
		 * whole frame: Ethernet header, IP header and payload), to
		 * stats->bytes. */
		stats->packets += 1;
		/* data_end - data is the frame's length: ip->tot_len would
		 * leave out the 14 bytes of the Ethernet header. */
		stats->bytes += data_end - data;
		/* xdplab:else */
		// stats->packets += 1;
		/* xdplab:end */
	}
	return XDP_DROP;
}

char __license[] SEC("license") = "GPL";
