/* A correct packets step in another style: a legacy "maps" section, the
 * EtherType read from the frame with load_half (host order, so compared with
 * ETH_P_IP as it is), load_byte for the protocol. */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct pair {
	long packets;
	long bytes;
};

struct bpf_map_def SEC("maps") my_map = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct pair),
	.max_entries = 256,
};

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP || skb->pkt_type != PACKET_OUTGOING)
		return 0;

	int index = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	struct pair *value = bpf_map_lookup_elem(&my_map, &index);
	if (value) {
		__sync_fetch_and_add(&value->packets, 1);
		__sync_fetch_and_add(&value->bytes, skb->len);
	}
	return 0;
}
char _license[] SEC("license") = "GPL";
