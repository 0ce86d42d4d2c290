//go:build ignore

/* sockex1, step snap: count bytes per IP protocol as the base program does,
 * and let the socket keep the first 34 bytes of each packet leaving lo, its
 * Ethernet and IPv4 headers, as `tcpdump -s 34` would: a socket filter's
 * return value is how many bytes of the packet its socket gets. */

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

/* load_byte reads one byte of the packet through the classic BPF packet load
 * (BPF_LD_ABS), as the sample's bpf_legacy.h declares it. The kernel checks
 * the offset at run time: a read past the end of the packet ends the program
 * with 0, so no bounds check is needed here. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

/* One byte counter per IP protocol number, as in the base program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, long);
	__uint(max_entries, 256);
} my_map SEC(".maps");

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	/* The protocol byte of the IPv4 header after the Ethernet header. */
	int index = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	long *value;

	/* A packet socket on lo sees every packet twice: leaving
	 * (PACKET_OUTGOING) and coming back in (PACKET_HOST). Count it, and
	 * keep it, once: 0 keeps nothing of the copy coming back in. */
	if (skb->pkt_type != PACKET_OUTGOING)
		return 0;

	value = bpf_map_lookup_elem(&my_map, &index);
	/* The verifier insists on the NULL check even though every key fits. */
	if (value)
		__sync_fetch_and_add(value, skb->len);

	/* xdplab:todo 1: let the socket keep the Ethernet and IPv4 headers of
	 * this outgoing packet: return their length, ETH_HLEN + sizeof(struct
	 * iphdr) = 34 bytes. The kernel cuts the packet to what the filter
	 * returns (a packet shorter than that is kept whole). */
	/* The kernel cuts what the socket gets to this length. */
	return ETH_HLEN + sizeof(struct iphdr);
	/* xdplab:else */
	// return 0; /* keeps nothing: replace it when you write TODO 1 */
	/* xdplab:end */
}

char __license[] SEC("license") = "GPL";
