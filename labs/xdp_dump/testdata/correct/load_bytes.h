/* A correct xdp_dump that never touches packet pointers: it copies each
 * header to the stack with bpf_xdp_load_bytes, which fails instead of
 * reading past the end, so there are no bounds checks to write. Outside the
 * headers step its event is the tutorial's 12 bytes, without pkt_len. A
 * step's file defines REPORTS(syn, ack) and HEADERS_ONLY, then includes
 * this. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
	__uint(max_entries, 64);
} perfmap SEC(".maps");

struct perf_event_item {
	__u32 src_ip, dst_ip;
	__u16 src_port, dst_port;
#if HEADERS_ONLY
	__u32 pkt_len;
#endif
};
struct perf_event_item *unused_item __attribute__((unused));

SEC("xdp")
int xdp_dump(struct xdp_md *ctx)
{
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;

	if (bpf_xdp_load_bytes(ctx, 0, &eth, sizeof(eth)))
		return XDP_PASS;
	if (eth.h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, sizeof(eth), &ip, sizeof(ip)))
		return XDP_PASS;
	if (ip.protocol != IPPROTO_TCP || ip.ihl < 5 || (ip.frag_off & bpf_htons(0x1fff)))
		return XDP_PASS;
	__u32 tcp_off = sizeof(eth) + ip.ihl * 4;
	if (bpf_xdp_load_bytes(ctx, tcp_off, &tcp, sizeof(tcp)))
		return XDP_PASS;
	if (!REPORTS(tcp.syn, tcp.ack))
		return XDP_PASS;

	__u64 len = bpf_xdp_get_buff_len(ctx);
#if HEADERS_ONLY
	__u64 hdr = tcp_off + tcp.doff * 4;
	if (tcp.doff < 5 || hdr > len)
		return XDP_PASS;
	len = hdr;
#endif
	struct perf_event_item evt = {
		.src_ip = ip.saddr,
		.dst_ip = ip.daddr,
		.src_port = tcp.source,
		.dst_port = tcp.dest,
#if HEADERS_ONLY
		.pkt_len = len,
#endif
	};
	bpf_perf_event_output(ctx, &perfmap, BPF_F_CURRENT_CPU | (len << 32), &evt, sizeof(evt));
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
