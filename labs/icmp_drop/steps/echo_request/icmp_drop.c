//go:build ignore

/* icmp_drop, step echo_request: on node1's veth1, drop ICMP echo requests
 * only. Echo replies and ICMP errors go on, so node1 can ping the host
 * while nobody can ping node1: the classic "stealth" rule, made in XDP. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The ICMP header as linux/icmp.h has it (that header pulls in the C
 * library's, which a BPF build has not): type, code, checksum, then 4 bytes
 * that depend on the type (an echo's id and sequence number). */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};
#define ICMP_ECHOREPLY 0 /* echo reply */
#define ICMP_DEST_UNREACH 3 /* destination unreachable */
#define ICMP_ECHO 8 /* echo request */

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* ARP and the rest go on */
	struct iphdr *iph = (void *)(eth + 1);
	/* The IPv4 header must fit before we read iph->protocol. */
	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	if (iph->protocol != IPPROTO_ICMP)
		return XDP_PASS;

	/* xdplab:todo 1: find the ICMP header. It starts iph->ihl * 4 bytes
	 * after the start of the IPv4 header (ihl counts 32-bit words: 5
	 * without options); return XDP_PASS unless a whole struct icmphdr
	 * (declared above, call it icmp) fits before data_end. */
	struct icmphdr *icmp = (void *)iph + iph->ihl * 4;
	/* The ICMP header must fit before we read its type. */
	if ((void *)(icmp + 1) > data_end)
		return XDP_PASS;
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 1 */
	/* xdplab:end */

	/* xdplab:todo 2: drop echo requests only: return XDP_DROP when
	 * icmp->type is ICMP_ECHO (8). Echo replies (ICMP_ECHOREPLY, 0) and
	 * errors such as ICMP_DEST_UNREACH (3) go on with XDP_PASS: they
	 * answer what node1 sent. */
	if (icmp->type == ICMP_ECHO)
		return XDP_DROP;
	/* xdplab:end */
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
