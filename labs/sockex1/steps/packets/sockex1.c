//go:build ignore

/* sockex1, step packets: count packets as well as bytes per IP protocol,
 * in the struct pair {packets, bytes} the kernel's samples/bpf/sockex2 keeps
 * per flow, and count IPv4 packets only: the base program counts any frame
 * under its 24th byte, whatever that frame carries. */

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* load_byte reads one byte of the packet through the classic BPF packet load
 * (BPF_LD_ABS), as the sample's bpf_legacy.h declares it. The kernel checks
 * the offset at run time: a read past the end of the packet ends the program
 * with 0, so no bounds check is needed here. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

/* What sockex2 counts per flow: packets, then bytes. */
struct pair {
	long packets;
	long bytes;
};

/* One pair per IP protocol number (IPPROTO_ICMP = 1, TCP = 6, UDP = 17):
 * 256 entries cover every value of the protocol byte. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pair);
	__uint(max_entries, 256);
} my_map SEC(".maps");

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	/* xdplab:todo 1: count IPv4 packets only: return 0, uncounted, unless
	 * skb->protocol, the frame's EtherType as the kernel keeps it, is
	 * ETH_P_IP. skb->protocol is in network byte order: compare it with
	 * bpf_htons(ETH_P_IP) (from bpf/bpf_endian.h). */
	/* Anything else (IPv6, ARP) has no IPv4 protocol byte at offset 23. */
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	/* xdplab:end */

	/* A packet socket on lo sees every packet twice: leaving
	 * (PACKET_OUTGOING) and coming back in (PACKET_HOST). Count it once. */
	if (skb->pkt_type != PACKET_OUTGOING)
		return 0;

	/* xdplab:todo 2: read the protocol byte into int index as the base
	 * exercise does (load_byte at ETH_HLEN + offsetof(struct iphdr,
	 * protocol)), look up its struct pair with bpf_map_lookup_elem(&my_map,
	 * &index) (check it for NULL), then add 1 to its packets and skb->len
	 * to its bytes, each with __sync_fetch_and_add: several CPUs may send
	 * at once. */
	/* The protocol byte of the IPv4 header after the Ethernet header. */
	int index = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	struct pair *value = bpf_map_lookup_elem(&my_map, &index);
	/* The verifier insists on the NULL check even though every key fits. */
	if (value) {
		/* Two atomic adds: a reader may see one done and not yet the
		 * other, never a lost update. */
		__sync_fetch_and_add(&value->packets, 1);
		__sync_fetch_and_add(&value->bytes, skb->len);
	}
	/* xdplab:end */

	/* The socket keeps nothing: it only counts. */
	return 0;
}

char __license[] SEC("license") = "GPL";
