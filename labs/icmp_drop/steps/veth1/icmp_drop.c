//go:build ignore

/* icmp_drop, step veth1: the same program as the base exercise, attached
 * to node1's veth1 instead of its lo. Frames there come from the host over
 * a veth, with real MAC addresses, and ARP as well as IPv4: the program
 * must pass every frame that is not IPv4. On a veth, XDP runs in native
 * (driver) mode too. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	/* xdplab:todo 1: find the IPv4 header: return XDP_PASS unless a whole
	 * struct ethhdr fits before data_end, its h_proto is
	 * bpf_htons(ETH_P_IP) (ARP frames, 0x0806, must go on untouched), and
	 * a whole struct iphdr (call it iph) fits after it. */
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	/* h_proto is in network byte order, as on the wire. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* ARP and the rest: without ARP, no IPv4 either */
	struct iphdr *iph = (void *)(eth + 1);
	/* The IPv4 header must fit before we read iph->protocol. */
	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 1 */
	/* xdplab:end */

	/* xdplab:todo 2: drop ICMP: return XDP_DROP when iph->protocol is
	 * IPPROTO_ICMP (1); everything else goes on with XDP_PASS. */
	/* The host's echo requests end here: node1 never answers them. */
	if (iph->protocol == IPPROTO_ICMP)
		return XDP_DROP;
	/* xdplab:end */
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
