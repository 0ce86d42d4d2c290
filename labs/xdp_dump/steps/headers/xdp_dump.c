//go:build ignore

/* xdp_dump, step headers: tell user space about every new IPv4 TCP connection
 * (a SYN without ACK) arriving on an interface, as the base exercise does, but
 * append only the packet's headers (Ethernet, IPv4 with its options, TCP with
 * its options) to the event, not its payload: what a capture tool's snap
 * length does, with the length taken from the headers themselves. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

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
 * tutorial's perf_event_item; pkt_len is ours, and in this step it is the
 * number of bytes appended: the headers' length. The kernel pads each sample
 * to a multiple of 8 bytes, so user space needs it to know where the headers
 * end. Addresses and ports stay in network byte order, exactly as they sit in
 * the headers. */
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
	struct ethhdr *eth = data;

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	/* h_proto is in network byte order, as on the wire. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* not IPv4 (IPv6, ARP...) */
	struct iphdr *ip = (void *)(eth + 1);
	/* The fixed IPv4 header must fit before we read its fields. */
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	/* A later fragment carries payload, not a TCP header. */
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return XDP_PASS;
	/* Below 5 words the IPv4 header is malformed. */
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
	/* xdplab:todo 1: compute hdr_len, the length of the headers from the
	 * start of the frame to the end of the TCP header: Ethernet, then
	 * ip->ihl * 4 bytes of IPv4, then tcp->doff * 4 bytes of TCP (doff counts
	 * 32-bit words, options included, like ihl). Return XDP_PASS for a doff
	 * below 5 (malformed) and for headers that run past the packet's end
	 * (hdr_len > pkt_len): the helper refuses to append more bytes than the
	 * packet has. */
	/* Below 5 words the TCP header is malformed. */
	if (tcp->doff < 5)
		return XDP_PASS;
	/* From the frame's first byte to the end of the TCP options. */
	__u64 hdr_len = (void *)tcp + tcp->doff * 4 - data;
	/* A packet cut inside its TCP options: the kernel would refuse to append
	 * bytes the packet does not have. */
	if (hdr_len > pkt_len)
		return XDP_PASS;
	/* xdplab:end */
	struct perf_event_item evt = {
		.src_ip = ip->saddr,
		.dst_ip = ip->daddr,
		.src_port = tcp->source,
		.dst_port = tcp->dest,
	};
	/* xdplab:todo 2: append hdr_len bytes instead of the whole packet: put
	 * hdr_len in the upper 32 bits of flags, after BPF_F_CURRENT_CPU, and
	 * record it in evt.pkt_len, so user space knows where the headers end. */
	/* The kernel appends hdr_len bytes from the frame's start: the headers,
	 * and nothing of the payload. */
	evt.pkt_len = hdr_len;
	__u64 flags = BPF_F_CURRENT_CPU | ((hdr_len & 0xfffff) << 32);
	/* xdplab:else */
	// evt.pkt_len = pkt_len;
	// __u64 flags = BPF_F_CURRENT_CPU | ((pkt_len & 0xfffff) << 32);
	/* xdplab:end */
	bpf_perf_event_output(ctx, &perfmap, flags, &evt, sizeof(evt));

	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
