/* count with the legacy "maps" section (struct bpf_map_def), as programs
 * written before BTF maps define their maps. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") clones = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 65536,
};

SEC("tracepoint/syscalls/sys_enter_clone")
int trace_clone(void *ctx)
{
	__u32 tid = bpf_get_current_pid_tgid();
	__u64 *count = bpf_map_lookup_elem(&clones, &tid);

	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	__u64 one = 1;
	bpf_map_update_elem(&clones, &tid, &one, BPF_NOEXIST);
	return 0;
}

char _license[] SEC("license") = "GPL";
