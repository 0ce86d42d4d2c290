/* A correct snap step in another style: a legacy "maps" section, the
 * outgoing branch counts and returns the snap length, spelled as a number. */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

#define SNAP_LEN 34 /* Ethernet (14) + IPv4 (20) headers */

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

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
	.value_size = sizeof(long),
	.max_entries = 256,
};

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	if (skb->pkt_type == PACKET_OUTGOING) {
		int index = load_byte(skb, 23);
		long *value = bpf_map_lookup_elem(&my_map, &index);

		if (value)
			__sync_fetch_and_add(value, skb->len);
		return SNAP_LEN;
	}
	return 0;
}
char _license[] SEC("license") = "GPL";
