/* icmp_drop written with byte offsets instead of header structs: the
 * EtherType at bytes 12-13 of the frame, the IPv4 protocol at byte 23. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int icmp_drop(struct xdp_md *ctx)
{
	unsigned char *p = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;

	/* Ethernet (14 bytes) and a whole IPv4 header (20) before any read. */
	if (p + 34 > end)
		return XDP_PASS;
	if (p[12] == 0x08 && p[13] == 0x00 && p[23] == 1)
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
