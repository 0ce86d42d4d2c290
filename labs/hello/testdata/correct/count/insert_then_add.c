/* count that always inserts a zero first (BPF_NOEXIST keeps an existing
 * count), then adds to what the lookup finds: one path for every call, in
 * an LRU hash that never fills up. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} clones SEC(".maps");

SEC("tp/syscalls/sys_enter_clone")
int trace_clone(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 zero = 0, *count;

	bpf_map_update_elem(&clones, &tid, &zero, BPF_NOEXIST);
	count = bpf_map_lookup_elem(&clones, &tid);
	if (!count)
		return 0;
	__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
