//go:build ignore

/* sockex1: a socket filter that adds up, per IP protocol, the bytes of every
 * packet leaving through the interface its packet socket is bound to. This is
 * the kernel's samples/bpf/sockex1_kern.c: the same program (bpf_prog1) and
 * map (my_map), so the sample's own object loads with `xdplab up sockex1 --obj`. */

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

/* load_byte reads one byte of the packet through the classic BPF packet load
 * (BPF_LD_ABS), as the sample's bpf_legacy.h declares it. The kernel checks
 * the offset at run time: a read past the end of the packet ends the program
 * with 0, so no bounds check is needed here, unlike with XDP's data pointers. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

/* One byte counter per IP protocol number (IPPROTO_ICMP = 1, TCP = 6,
 * UDP = 17): 256 entries cover every value the protocol byte can take, so
 * the lookup below can never miss for a real key. ARRAY, not PERCPU_ARRAY:
 * the add is atomic instead. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, long);
	__uint(max_entries, 256);
} my_map SEC(".maps");

/* "socket" sections are socket filters: the program runs for every packet
 * the socket would receive, and its return value is how many bytes of it the
 * socket keeps. 0 keeps nothing: this socket only counts, it never reads. */
SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	/* xdplab:todo 1: read the IP protocol byte into int index with
	 * load_byte(skb, offset): the IPv4 header starts right after the
	 * 14-byte Ethernet header (ETH_HLEN), and offsetof(struct iphdr,
	 * protocol) is where its protocol field is. */
	/* The protocol byte of an IPv4 header right after the 14-byte Ethernet
	 * header. Like the sample, this does not check skb->protocol first: on
	 * node1's lo, with IPv6 off, every frame is IPv4. */
	int index = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	/* xdplab:end */

	/* xdplab:todo 2: count each packet once: a packet socket on lo sees
	 * it leave (skb->pkt_type == PACKET_OUTGOING) and come back in; return
	 * 0, uncounted, for everything that is not PACKET_OUTGOING. */
	/* A packet socket on lo sees every packet twice: leaving
	 * (PACKET_OUTGOING) and coming back in (PACKET_HOST). Count it once. */
	if (skb->pkt_type != PACKET_OUTGOING)
		return 0;
	/* xdplab:end */

	/* xdplab:todo 3: look up the packet's counter with
	 * bpf_map_lookup_elem(&my_map, &index), which returns a long * (NULL
	 * when the key is past the end: check it), and add skb->len to it
	 * atomically with __sync_fetch_and_add: several CPUs may send at once. */
	long *value = bpf_map_lookup_elem(&my_map, &index);
	/* The verifier insists on the NULL check even though every key fits. */
	if (value)
		/* Several CPUs may send at once: add atomically. skb->len is the
		 * whole frame, Ethernet header included. */
		__sync_fetch_and_add(value, skb->len);
	/* xdplab:end */

	/* The return value is how many bytes of the packet the socket keeps:
	 * 0 keeps nothing, since this socket only counts. */
	return 0;
}

char __license[] SEC("license") = "GPL";
