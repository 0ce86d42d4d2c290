/* Drop echo requests only, with byte offsets: the IPv4 header length comes
 * from its first byte (ihl, in 32-bit words), the ICMP type is the first
 * byte after it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	unsigned char *p = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;

	/* Ethernet and a whole 20-byte IPv4 header before any read. */
	if (p + 34 > end)
		return XDP_PASS;
	if (p[12] != 0x08 || p[13] != 0x00 || p[23] != 1)
		return XDP_PASS;
	__u32 ihl = (p[14] & 0x0f) * 4;
	if (ihl < 20)
		return XDP_PASS; /* not a valid header: let the stack refuse it */
	unsigned char *icmp = p + 14 + ihl;
	/* The ICMP type byte must be in the frame. */
	if (icmp + 1 > end)
		return XDP_PASS;
	return icmp[0] == 8 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
