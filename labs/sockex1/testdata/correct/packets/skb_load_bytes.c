/* A correct packets step in another style: the whole IPv4 header copied to
 * the stack with bpf_skb_load_bytes, skb->protocol tested against
 * bpf_htons(ETH_P_IP), __u64 fields. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct counts {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct counts);
	__uint(max_entries, 256);
} my_map SEC(".maps");

SEC("socket")
int bpf_prog1(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct counts *c;
	__u32 key;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (skb->pkt_type != PACKET_OUTGOING)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return 0;
	key = ip.protocol;
	c = bpf_map_lookup_elem(&my_map, &key);
	if (!c)
		return 0;
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);
	return 0;
}
char _license[] SEC("license") = "GPL";
