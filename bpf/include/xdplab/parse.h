/* Packet-parsing helpers shared by the lab programs. Every helper checks
 * bounds against data_end before it reads: the verifier rejects any load it
 * cannot prove stays inside the packet. */
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* parse_ipv4 returns the IPv4 header of an Ethernet frame, or NULL when the
 * frame is too short or not IPv4. */
static __always_inline struct iphdr *parse_ipv4(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	/* The Ethernet header must fit before we read h_proto. */
	if ((void *)(eth + 1) > data_end)
		return NULL;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;

	struct iphdr *ip = (void *)(eth + 1);
	/* The fixed part of the IPv4 header must fit before we read its fields. */
	if ((void *)(ip + 1) > data_end)
		return NULL;
	return ip;
}
