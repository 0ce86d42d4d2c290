/* A learner's chain step with the second program only: xdp_udp and both
 * maps, but nothing to attach in front of it. The chain step must refuse
 * it before anything is created. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdplab/xdpcap.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u32);
} xdpcap_hook SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp_table SEC(".maps");

SEC("xdp")
int xdp_udp(struct xdp_md *ctx)
{
	return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);
}

char __license[] SEC("license") = "GPL";
