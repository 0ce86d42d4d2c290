//go:build ignore

/* icmp_drop: drop every ICMP packet that arrives on an interface and pass
 * everything else on. This is the XDP program of the eBPF introduction: the
 * same program name (icmp_drop) and no maps, so the object built from the
 * text loads with `xdplab up icmp_drop --obj`. The text attaches it to lo,
 * and so does this lab (node1's lo): ping 127.0.0.1 stops answering. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	/* xdplab:todo 1: find the IPv4 header. data and data_end come from
	 * ctx->data and ctx->data_end; return XDP_PASS unless a whole struct
	 * ethhdr fits before data_end, its h_proto is bpf_htons(ETH_P_IP), and
	 * a whole struct iphdr (call it iph) fits after it (the verifier
	 * refuses to load a read it cannot prove stays before data_end). */
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* The Ethernet header must fit before we read h_proto. On lo its
	 * addresses are zeros, but h_proto is real. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	/* h_proto is in network byte order, as on the wire. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* not IPv4 (ARP, IPv6): not ours to drop */
	struct iphdr *iph = (void *)(eth + 1);
	/* The IPv4 header must fit before we read iph->protocol. */
	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 1 */
	/* xdplab:end */

	/* xdplab:todo 2: drop ICMP: return XDP_DROP when iph->protocol is
	 * IPPROTO_ICMP (1, from linux/in.h); every other packet goes on with
	 * the XDP_PASS below. */
	/* Dropped here, the echo request never reaches the stack, so nothing
	 * answers it. */
	if (iph->protocol == IPPROTO_ICMP)
		return XDP_DROP;
	/* xdplab:end */
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
