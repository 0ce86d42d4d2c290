/* icmp_drop that copies the bytes it reads out of the frame with the
 * bpf_xdp_load_bytes helper (Linux 5.18) instead of reading through data
 * pointers: the helper checks the bounds, so the program has none. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	__be16 proto;
	__u8 ipproto;

	/* A frame too short for either read is not an IPv4 packet. */
	if (bpf_xdp_load_bytes(ctx, 12, &proto, sizeof(proto)) < 0 || proto != bpf_htons(0x0800))
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, 14 + 9, &ipproto, sizeof(ipproto)) < 0)
		return XDP_PASS;
	return ipproto == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
