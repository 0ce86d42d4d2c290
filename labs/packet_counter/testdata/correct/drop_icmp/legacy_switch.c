/* A correct drop_icmp step in another style: the legacy "maps" section,
 * a verdict chosen in a switch on the protocol, one return at the end. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") protocols = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(long),
	.max_entries = 255,
};

SEC("xdp")
int packet_count(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct iphdr *ip = (void *)(eth + 1);
	int action = XDP_PASS;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__u32 index = ip->protocol;
	long *value = bpf_map_lookup_elem(&protocols, &index);
	if (value)
		*value += 1;
	switch (ip->protocol) {
	case IPPROTO_ICMP:
		action = XDP_DROP;
		break;
	default:
		break;
	}
	return action;
}

char _license[] SEC("license") = "GPL";
