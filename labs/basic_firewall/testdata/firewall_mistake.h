/* What the learner's mistakes in this folder share with the lab's program:
 * its maps, with the tutorial's names and layouts, and the two map steps,
 * so each mistake file holds only the program that gets something wrong. */
#pragma once

#include "xdplab/parse.h"

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blacklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} matches SEC(".maps");

/* rule_of returns the index of the longest rule containing addr (network
 * byte order), or NULL. */
static __always_inline __u32 *rule_of(__u32 addr)
{
	struct lpm_key key = { .prefixlen = 32, .addr = addr };
	return bpf_map_lookup_elem(&blacklist, &key);
}

static __always_inline void count_at(__u32 index)
{
	__u64 *count = bpf_map_lookup_elem(&matches, &index);
	if (count)
		*count += 1;
}

char __license[] SEC("license") = "GPL";
