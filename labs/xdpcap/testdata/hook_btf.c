/* A learner's version of the lab, written as xdpcap's README says for
 * libbpf >= 1.0: the hook declared with BTF key and value types, and a
 * program with its own name. `xdplab up xdpcap --obj` must take it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 5);
	__type(key, int);
	__type(value, int);
} xdpcap_hook SEC(".maps");

static __always_inline int exit_with(struct xdp_md *ctx, int action)
{
	bpf_tail_call(ctx, &xdpcap_hook, action);
	return action;
}

SEC("xdp")
int xdp_main(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1); /* no IP options in the lab's traffic */

	if ((void *)(udp + 1) > data_end)
		return exit_with(ctx, XDP_PASS);
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return exit_with(ctx, XDP_PASS);
	if (udp->dest == bpf_htons(9))
		return exit_with(ctx, XDP_DROP);
	return exit_with(ctx, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
