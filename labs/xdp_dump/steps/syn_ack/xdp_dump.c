//go:build ignore

/* xdp_dump, step syn_ack: tell user space about every SYN-ACK arriving on an
 * interface, with the whole packet attached: the answers to the connections
 * this host opens, where the base exercise reports the connections it is
 * asked for. Everything but the test of the flags is the base exercise's. */
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

	/* xdplab:todo 1: report SYN-ACKs only: return XDP_PASS unless tcp->syn
	 * and tcp->ack are both set. A SYN alone asks for a connection, an ACK
	 * alone belongs to one that is open. */
	/* The answer to a connection request: SYN and ACK both set. The request
	 * itself (SYN alone) and every later segment (ACK alone) are not. */
	if (!tcp->syn || !tcp->ack)
		return XDP_PASS;
	/* xdplab:else */
	// /* The base exercise's test: it reports connection requests. */
	// if (!tcp->syn || tcp->ack)
	// 	return XDP_PASS;
	/* xdplab:end */

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
