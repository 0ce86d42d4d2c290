/* A wrong xdp_dump: it reports every IPv4 packet, not only TCP SYNs, and
 * appends no packet bytes. Its check must fail on exactly those points. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perfmap SEC(".maps");

struct perf_event_item {
	__u32 src_ip, dst_ip;
	__u16 src_port, dst_port;
	__u32 pkt_len;
};
const struct perf_event_item *unused_perf_event_item __attribute__((unused));

SEC("xdp")
int xdp_dump(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	/* ports are read as if every packet had them right after a 20-byte header */
	__u16 *ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > data_end)
		return XDP_PASS;
	struct perf_event_item evt = {
		.src_ip = ip->saddr,
		.dst_ip = ip->daddr,
		.src_port = ports[0],
		.dst_port = ports[1],
		.pkt_len = 0,
	};
	bpf_perf_event_output(ctx, &perfmap, BPF_F_CURRENT_CPU, &evt, sizeof(evt));
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
