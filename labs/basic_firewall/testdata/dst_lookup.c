/* A learner's mistake for the check to catch (issue 12): the firewall looks
 * up the destination address instead of the source. With `--drop
 * 192.168.0.0/24` every ping to node1 (192.168.0.2) is dropped and counted,
 * so a check that only pings from the host under the learner's rules cannot
 * tell it from the right program; the check's own source and rule must. */
#include "firewall_mistake.h"

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	struct iphdr *ip = parse_ipv4((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (!ip)
		return XDP_PASS;
	__u32 *rule = rule_of(ip->daddr); /* the mistake: rules are about sources */
	if (!rule)
		return XDP_PASS;
	count_at(*rule);
	return XDP_DROP;
}
