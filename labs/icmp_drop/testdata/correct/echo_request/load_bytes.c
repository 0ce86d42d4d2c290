/* Drop echo requests only, reading with bpf_xdp_load_bytes (Linux 5.18):
 * the EtherType, then the first bytes of the IPv4 header, then the ICMP
 * type where the header length says it is. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	__be16 proto;
	__u8 ip[10], type;

	if (bpf_xdp_load_bytes(ctx, 12, &proto, sizeof(proto)) < 0 || proto != bpf_htons(0x0800))
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, 14, ip, sizeof(ip)) < 0 || ip[9] != 1)
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, 14 + (ip[0] & 0x0f) * 4, &type, sizeof(type)) < 0)
		return XDP_PASS;
	return type == 8 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
