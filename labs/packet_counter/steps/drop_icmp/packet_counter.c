//go:build ignore

/* packet_counter, step drop_icmp: count packets per IPv4 protocol as the
 * base exercise does, and drop ICMP, as the eBPF intro's icmp_drop does:
 * pings get no reply, yet every echo request is counted. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* One counter per IP protocol number (IPPROTO_ICMP = 1, TCP = 6, UDP = 17).
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

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* not IPv4: not ours to count */
	struct iphdr *ip = (void *)(eth + 1);
	/* The IPv4 header must fit before we read ip->protocol. */
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;

	__u32 key = ip->protocol;
	__u64 *count = bpf_map_lookup_elem(&protocols, &key);
	/* Lookups can fail (key 255 is past the end): the verifier insists we check. */
	if (count)
		*count += 1;
	/* xdplab:todo 1: drop ICMP: return XDP_DROP when ip->protocol is
	 * IPPROTO_ICMP (from linux/in.h), and XDP_PASS for everything else.
	 * Drop after counting: the ICMP counter still counts every echo
	 * request. */
	/* Counted above, dropped here: node1 never sees the echo request, so
	 * it never replies. */
	if (ip->protocol == IPPROTO_ICMP)
		return XDP_DROP;
	/* xdplab:end */
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
