/* The eBPF introduction's icmp_drop, as a learner builds it with clang
 * instead of bcc: bcc adds the section, the license and htons; the body is
 * the text's, its header size in a variable and all. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int hdr_size = sizeof(*eth);

	if (data + hdr_size > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + hdr_size;
		if ((void *)&iph[1] > data_end)
			return XDP_PASS;
		if (iph->protocol == 1)
			return XDP_DROP;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
