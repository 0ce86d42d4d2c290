/* A correct xdp_dump in the style of the tutorial's era: the map in a legacy
 * "maps" section (struct bpf_map_def, 128 slots as the tutorial has), and the
 * headers read as bytes at their offsets instead of through struct iphdr and
 * struct tcphdr. A step's file defines REPORTS(flags), the test of the TCP
 * flags byte, and HEADERS_ONLY, then includes this. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") perfmap = {
	.type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 128,
};

struct perf_event_item {
	__u32 src_ip, dst_ip;
	__u16 src_port, dst_port;
	__u32 pkt_len; /* the bytes appended */
};
/* In BTF, so that user space finds pkt_len. */
struct perf_event_item *unused_item __attribute__((unused));

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_ACK 0x10

SEC("xdp")
int xdp_dump(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	/* Ethernet (14 bytes) and the fixed IPv4 header (20) must fit. */
	if (p + 34 > end)
		return XDP_PASS;
	/* EtherType 0x0800, byte by byte: no byte order to get wrong. */
	if (p[12] != 0x08 || p[13] != 0x00)
		return XDP_PASS;
	if (p[14 + 9] != 6) /* protocol: TCP */
		return XDP_PASS;
	if ((p[14 + 6] & 0x1f) || p[14 + 7]) /* a later fragment */
		return XDP_PASS;
	__u32 ihl = (p[14] & 0x0f) * 4;
	if (ihl < 20)
		return XDP_PASS;
	__u8 *t = p + 14 + ihl;
	/* The fixed TCP header (20 bytes) must fit. */
	if (t + 20 > end)
		return XDP_PASS;
	if (!REPORTS(t[13]))
		return XDP_PASS;

	__u64 len = end - p;
#if HEADERS_ONLY
	__u32 doff = (t[12] >> 4) * 4;
	if (doff < 20 || 14 + ihl + doff > len)
		return XDP_PASS;
	len = 14 + ihl + doff;
#endif
	struct perf_event_item evt = {};
	__builtin_memcpy(&evt.src_ip, p + 14 + 12, 4);
	__builtin_memcpy(&evt.dst_ip, p + 14 + 16, 4);
	__builtin_memcpy(&evt.src_port, t, 2);
	__builtin_memcpy(&evt.dst_port, t + 2, 2);
	evt.pkt_len = len;
	bpf_perf_event_output(ctx, &perfmap, BPF_F_CURRENT_CPU | (len << 32), &evt, sizeof(evt));
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
