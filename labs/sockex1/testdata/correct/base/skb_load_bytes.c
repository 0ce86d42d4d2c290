/* A correct sockex1 in another style: the protocol byte copied out with the
 * bpf_skb_load_bytes helper instead of load_byte, the direction tested
 * first, __u64 counters. */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} my_map SEC(".maps");

SEC("socket")
int bpf_prog1(struct __sk_buff *skb)
{
	__u8 proto;
	__u32 key;
	__u64 *bytes;

	if (skb->pkt_type != PACKET_OUTGOING)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, protocol), &proto, sizeof(proto)) < 0)
		return 0;
	key = proto;
	bytes = bpf_map_lookup_elem(&my_map, &key);
	if (bytes)
		__sync_fetch_and_add(bytes, skb->len);
	return 0;
}
char _license[] SEC("license") = "GPL";
