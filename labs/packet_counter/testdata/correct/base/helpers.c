/* A correct packet_counter written with small helpers: parsing in an
 * inline function that returns the protocol or -1, the EtherType turned to
 * host order with bpf_ntohs before the comparison. check must pass it in
 * both modes. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 255);
} protocols SEC(".maps");

/* ipv4_protocol is the IPv4 protocol of the frame, or -1 when the frame is
 * not a whole IPv4 header. */
static __always_inline int ipv4_protocol(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(ip + 1) > data_end)
		return -1;
	if (bpf_ntohs(eth->h_proto) != ETH_P_IP)
		return -1;
	return ip->protocol;
}

static __always_inline void count(__u32 key)
{
	__u64 *n = bpf_map_lookup_elem(&protocols, &key);

	if (n)
		(*n)++;
}

SEC("xdp")
int packet_count(struct xdp_md *ctx)
{
	int proto = ipv4_protocol((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	if (proto >= 0)
		count(proto);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
