/* The xdpcap hook: cloudflare/xdpcap's ABI (its hook.h), so that both
 * cloudflare's xdpcap and `xdplab capture` can capture from a program that
 * returns through xdpcap_exit.
 *
 * A program declares the hook, a PROG_ARRAY with u32 keys and values and
 * one slot per XDP action, and pins it:
 *
 *	struct {
 *		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
 *		__uint(key_size, sizeof(__u32));
 *		__uint(value_size, sizeof(__u32));
 *		__uint(max_entries, XDPCAP_ACTIONS);
 *	} xdpcap_hook SEC(".maps");
 *
 * and ends with `return xdpcap_exit(ctx, &xdpcap_hook, XDP_PASS);` instead of
 * `return XDP_PASS;`. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* One slot per XDP action: XDP_ABORTED (0), XDP_DROP, XDP_PASS, XDP_TX,
 * XDP_REDIRECT (4). A capture tool puts its program in the slots of the
 * actions it wants to see. */
#define XDPCAP_ACTIONS 5

/* XDPCAP_HOOK() initialises the hook the legacy way, for loaders that read
 * a struct bpf_map_def from the "maps" section (xdpcap's README for
 * libbpf < 1.0; the program defines struct bpf_map_def itself):
 *
 *	struct bpf_map_def SEC("maps") xdpcap_hook = XDPCAP_HOOK(); */
#define XDPCAP_HOOK() {                        \
	.type = BPF_MAP_TYPE_PROG_ARRAY,       \
	.key_size = sizeof(int),               \
	.value_size = sizeof(int),             \
	.max_entries = XDPCAP_ACTIONS,         \
}

/* xdpcap_exit returns action, after letting a capture program see the packet
 * and the action.
 *
 * bpf_tail_call jumps to the program in slot `action` of the hook and never
 * comes back: that program returns the final verdict itself (a capture
 * program returns the action unchanged). When the slot is empty, because
 * nobody captures, the tail call does nothing and falls through to
 * `return action`, so an uncaptured program behaves exactly as if it had
 * returned action directly; the cost is one map lookup. */
static __always_inline enum xdp_action xdpcap_exit(struct xdp_md *ctx, void *hook, enum xdp_action action)
{
	bpf_tail_call(ctx, hook, action);
	return action;
}
