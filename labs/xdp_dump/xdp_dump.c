//go:build ignore

/* xdp_dump: tell user space about every new IPv4 TCP connection (a SYN without
 * ACK) arriving on an interface, with the whole packet attached, through a perf
 * ring. Program and map names are the go-xdp-examples tutorial's (xdp_dump,
 * perfmap), so the tutorial's own object loads with `xdplab up xdp_dump --obj`. */
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
	/* xdplab:todo 1: find the TCP header. data and data_end come from
	 * ctx->data and ctx->data_end; return XDP_PASS unless a whole struct
	 * ethhdr fits, its h_proto is bpf_htons(ETH_P_IP), a whole struct iphdr
	 * fits after it and its protocol is IPPROTO_TCP. The TCP header starts
	 * ip->ihl * 4 bytes after the IPv4 header (ihl counts 32-bit words and
	 * includes any IP options), and a whole struct tcphdr must fit before
	 * data_end. */
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
	/* xdplab:else */
	// return XDP_PASS; /* remove this line when you write TODO 1 */
	/* xdplab:end */

	/* xdplab:todo 2: report connection requests only: return XDP_PASS
	 * unless tcp->syn is set and tcp->ack is clear. */
	/* A connection request: SYN set, ACK clear. The SYN-ACK answer (both set)
	 * and every later segment (ACK set) are not new connections. */
	if (!tcp->syn || tcp->ack)
		return XDP_PASS;
	/* xdplab:end */

	/* xdplab:todo 3: fill a struct perf_event_item evt: src_ip and dst_ip
	 * from ip->saddr and ip->daddr, src_port and dst_port from tcp->source
	 * and tcp->dest, all as they are (network byte order: no bpf_ntohs),
	 * and pkt_len, the packet's length, data_end - data. */
	__u64 pkt_len = data_end - data;
	struct perf_event_item evt = {
		.src_ip = ip->saddr,
		.dst_ip = ip->daddr,
		.src_port = tcp->source,
		.dst_port = tcp->dest,
		.pkt_len = pkt_len,
	};
	/* xdplab:end */
	/* xdplab:todo 4: send evt to user space with
	 * bpf_perf_event_output(ctx, &perfmap, flags, &evt, sizeof(evt)). In
	 * flags, BPF_F_CURRENT_CPU picks the ring of the CPU this runs on, and
	 * the upper 32 bits ask the kernel to append that many packet bytes
	 * after evt: BPF_F_CURRENT_CPU | (pkt_len << 32). */
	/* The upper 32 bits of flags ask the kernel to append that many bytes of
	 * the packet after evt: the helper copies them itself, so the program
	 * needs no bounds check for them. The field is 20 bits wide; a frame on
	 * these veths is far smaller. */
	__u64 flags = BPF_F_CURRENT_CPU | ((pkt_len & 0xfffff) << 32);
	bpf_perf_event_output(ctx, &perfmap, flags, &evt, sizeof(evt));
	/* xdplab:end */

	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
