//go:build ignore

/* packet_counter, step ipv6: count IPv6 packets too, by their next header,
 * in the same protocols map: IPv6's next header takes its values from the
 * IPv4 protocol numbers (TCP 6, UDP 17), so ICMPv6 (58) gets a key of its
 * own and TCP and UDP count together over both. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* One counter per IP protocol number (IPPROTO_ICMP = 1, TCP = 6, UDP = 17,
 * ICMPv6 = 58).
 * PERCPU_ARRAY: each CPU increments its own copy without atomics; user space
 * sums the copies when it reads. 255 entries as in the tutorial. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 255);
} protocols SEC(".maps");

SEC("xdp")
int packet_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 key;

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		/* The IPv4 header must fit before we read ip->protocol. */
		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		key = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		/* xdplab:todo 1: an IPv6 frame carries a struct ipv6hdr (from
		 * linux/ipv6.h) right after the Ethernet header: return XDP_PASS,
		 * uncounted, unless a whole one fits before data_end. */
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		/* The IPv6 header must fit before we read ip6->nexthdr. */
		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		/* xdplab:end */
		/* xdplab:todo 2: the key of an IPv6 packet is its next header,
		 * ip6->nexthdr: ICMPv6 is 58, TCP 6, UDP 17, the same numbers as
		 * IPv4's protocol field, so one map counts both. */
		key = ip6->nexthdr;
		/* xdplab:else */
		// return XDP_PASS; /* remove this line when you write TODOs 1 and 2 */
		/* xdplab:end */
	} else {
		return XDP_PASS; /* neither IPv4 nor IPv6: not ours to count */
	}

	__u64 *count = bpf_map_lookup_elem(&protocols, &key);
	/* Lookups can fail (key 255 is past the end): the verifier insists we check. */
	if (count)
		*count += 1;
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
