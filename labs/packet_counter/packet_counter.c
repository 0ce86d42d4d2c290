//go:build ignore

/* packet_counter: count packets per IPv4 protocol as they arrive on an
 * interface, then let them through. This is the go-xdp-examples program: the
 * same map name (protocols), layout and program name (packet_count), so the
 * tutorial's own object loads with `xdplab up packet_counter --obj`. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
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
	/* xdplab:todo 1: find the IPv4 header. data and data_end come from
	 * ctx->data and ctx->data_end; return XDP_PASS, uncounted, unless a
	 * whole struct ethhdr fits before data_end, its h_proto is
	 * bpf_htons(ETH_P_IP), and a whole struct iphdr fits after it (the
	 * verifier refuses to load a read it cannot prove stays before
	 * data_end). */
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
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 1 */
	/* xdplab:end */

	/* xdplab:todo 2: look up this packet's counter: the key is
	 * ip->protocol, a __u32 on the stack, and bpf_map_lookup_elem(&protocols,
	 * &key) returns a __u64 *count. */
	__u32 key = ip->protocol;
	__u64 *count = bpf_map_lookup_elem(&protocols, &key);
	/* xdplab:end */
	/* xdplab:todo 3: add 1 to *count. It is this CPU's own slot, so no
	 * atomic add is needed; but check count for NULL first: a lookup can
	 * fail (key 255 is past the end), and the verifier insists. */
	/* Lookups can fail (key 255 is past the end): the verifier insists we check. */
	if (count)
		*count += 1;
	/* xdplab:end */
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
