/* A learner's mistake for the check to catch (issue 12): the firewall drops
 * what the blacklist matches but always counts at index 0. With one rule
 * given at up, that rule is rule 0 and the mistake hides; the check's own
 * rule sits at the highest free index, so it must show. */
#include "firewall_mistake.h"

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	struct iphdr *ip = parse_ipv4((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (!ip)
		return XDP_PASS;
	if (!rule_of(ip->saddr))
		return XDP_PASS;
	count_at(0); /* the mistake: the lookup's value is the index */
	return XDP_DROP;
}
