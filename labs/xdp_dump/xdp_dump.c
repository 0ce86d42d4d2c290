//go:build ignore

/* xdp_dump: tell user space about every new IPv4 TCP connection (a SYN without
 * ACK) arriving on an interface, with the whole packet attached, through a perf
 * ring. Program and map names are the go-xdp-examples tutorial's (xdp_dump,
 * perfmap), so the tutorial's own object loads with `xdplab up xdp_dump --obj`. */

#include "xdplab/parse.h"
#include <linux/in.h>
#include <linux/tcp.h>

/* A perf event array has one slot per CPU; user space (perf.NewReader) puts a
 * ring buffer in each. BPF_F_CURRENT_CPU below writes to the ring of the CPU
 * the packet is processed on, so CPUs never contend. max_entries 0 lets the
 * loader size it to the number of CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perfmap SEC(".maps");

/* The metadata in front of every sample. The first four fields are the
 * tutorial's perf_event_item; pkt_len is ours: the kernel pads each sample to
 * a multiple of 8 bytes, so user space needs the real length to know where
 * the packet ends. Addresses and ports stay in network byte order, exactly as
 * they sit in the headers. */
struct perf_event_item {
	__u32 src_ip, dst_ip;
	__u16 src_port, dst_port;
	__u32 pkt_len;
};
/* Referenced so bpf2go emits the Go type (-type perf_event_item). */
const struct perf_event_item *unused_perf_event_item __attribute__((unused));

/* Fragment offset bits of iphdr->frag_off (the other three are flags). */
#define IP_OFFSET 0x1FFF

SEC("xdp")
int xdp_dump(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct iphdr *ip = parse_ipv4(data, data_end);
	if (!ip)
		return XDP_PASS; /* not IPv4 (IPv6, ARP...) or too short */
	if (ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	/* A later fragment carries payload, not a TCP header. */
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return XDP_PASS;
	/* ihl counts 32-bit words and may include IP options; below 5 the header
	 * is malformed. */
	if (ip->ihl < 5)
		return XDP_PASS;

	struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
	/* The whole fixed TCP header must fit before we read ports and flags. */
	if ((void *)(tcp + 1) > data_end)
		return XDP_PASS;

	/* A connection request: SYN set, ACK clear. The SYN-ACK answer (both set)
	 * and every later segment (ACK set) are not new connections. */
	if (!tcp->syn || tcp->ack)
		return XDP_PASS;

	__u64 pkt_len = data_end - data;
	struct perf_event_item evt = {
		.src_ip = ip->saddr,
		.dst_ip = ip->daddr,
		.src_port = tcp->source,
		.dst_port = tcp->dest,
		.pkt_len = pkt_len,
	};
	/* The upper 32 bits of flags ask the kernel to append that many bytes of
	 * the packet after evt: the helper copies them itself, so the program
	 * needs no bounds check for them. The field is 20 bits wide; a frame on
	 * these veths is far smaller. */
	__u64 flags = BPF_F_CURRENT_CPU | ((pkt_len & 0xfffff) << 32);
	bpf_perf_event_output(ctx, &perfmap, flags, &evt, sizeof(evt));

	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
