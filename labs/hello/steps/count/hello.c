//go:build ignore

/* hello, step count: count the clone() calls of every thread in a map
 * instead of printing a line for each. A map is what a real tool reads:
 * the trace is one text for the whole machine, and costly to write. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* clones: thread id -> clone() calls. Every thread of the machine that
 * calls clone() gets a key; check reads its own. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} clones SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_clone")
int trace_clone(void *ctx)
{
	/* xdplab:todo 1: key the count by the calling thread's id: the lower
	 * 32 bits of bpf_get_current_pid_tgid() */
	__u32 pid = bpf_get_current_pid_tgid();
	/* xdplab:else */
	// __u32 pid = 0;
	/* xdplab:end */
	/* xdplab:todo 2: add 1 to the thread's count: look it up; when it is
	 * there add 1 atomically (two CPUs may count the same thread's calls),
	 * else insert 1 */
	__u64 *count = bpf_map_lookup_elem(&clones, &pid);
	if (count) {
		__sync_fetch_and_add(count, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&clones, &pid, &one, BPF_NOEXIST);
	}
	/* xdplab:else */
	// bpf_map_lookup_elem(&clones, &pid); /* found or not, nothing is counted yet */
	/* xdplab:end */
	return 0;
}

char _license[] SEC("license") = "GPL";
