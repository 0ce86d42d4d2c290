/* Bad input: a hook but no XDP program (a socket filter instead). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 5);
	__uint(key_size, 4);
	__uint(value_size, 4);
} xdpcap_hook SEC(".maps");

SEC("socket")
int sock_prog(struct __sk_buff *skb)
{
	return 0;
}

char __license[] SEC("license") = "GPL";
