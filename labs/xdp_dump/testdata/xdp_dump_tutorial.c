/* The go-xdp-examples xdp_dump as the tutorial writes it: a legacy "maps"
 * section with struct bpf_map_def, the 12-byte perf_event_item without a
 * packet length, and the packet appended with (packet_size << 32). xdplab
 * must load it with --obj and grade it like its own program, taking the
 * packet length from the IPv4 header. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The tutorial's header (goebpf's) adds two pointers to libbpf's legacy
 * definition; left NULL they are zero bytes, which cilium/ebpf accepts. */
struct bpf_map_def {
	unsigned int map_type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	void *inner_map_def;
	const char *persistent_path;
};

struct bpf_map_def SEC("maps") perfmap = {
	.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 128,
};

struct perf_event_item {
	__u32 src_ip, dst_ip;
	__u16 src_port, dst_port;
};

SEC("xdp")
int xdp_dump(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u64 packet_size = data_end - data;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > data_end)
		return XDP_PASS;
	if (tcp->syn) {
		struct perf_event_item evt = {
			.src_ip = ip->saddr,
			.dst_ip = ip->daddr,
			.src_port = tcp->source,
			.dst_port = tcp->dest,
		};
		__u64 flags = BPF_F_CURRENT_CPU | (packet_size << 32);
		bpf_perf_event_output(ctx, &perfmap, flags, &evt, sizeof(evt));
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
