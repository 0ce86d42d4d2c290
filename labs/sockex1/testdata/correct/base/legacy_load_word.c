/* A correct sockex1 in another style: a legacy "maps" section (struct
 * bpf_map_def), SEC("socket"), the direction test around the count, and the
 * protocol read as part of a 32-bit word (TTL, protocol, checksum) with
 * load_word, which returns it in host order. */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") my_map = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

SEC("socket")
int bpf_prog1(struct __sk_buff *skb)
{
	if (skb->pkt_type == PACKET_OUTGOING) {
		/* ttl << 24 | protocol << 16 | checksum */
		__u32 word = load_word(skb, ETH_HLEN + offsetof(struct iphdr, ttl));
		__u32 key = (word >> 16) & 0xff;
		__u64 *bytes = bpf_map_lookup_elem(&my_map, &key);

		if (bytes)
			__sync_fetch_and_add(bytes, skb->len);
	}
	return 0;
}
char _license[] SEC("license") = "GPL";
