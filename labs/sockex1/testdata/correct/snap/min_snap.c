/* A correct snap step in another style: bpf_skb_load_bytes for the
 * protocol, and the snap length clamped to the packet's own length by hand
 * (the kernel would do it too). */
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
	const __u32 snap = sizeof(struct ethhdr) + sizeof(struct iphdr);
	__u8 proto = 0;
	__u32 key;
	__u64 *bytes;

	if (skb->pkt_type != PACKET_OUTGOING)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, protocol), &proto, 1) == 0) {
		key = proto;
		bytes = bpf_map_lookup_elem(&my_map, &key);
		if (bytes)
			__sync_fetch_and_add(bytes, skb->len);
	}
	return skb->len < snap ? skb->len : snap;
}
char _license[] SEC("license") = "GPL";
