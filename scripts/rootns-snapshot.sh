#!/usr/bin/env bash
# Prints the root network namespace's links, addresses, routes, rules,
# permanent neighbours and net sysctls. CI takes one before and one after the
# whole test suite: they must be identical (xdplab never touches the root
# namespace).
set -euo pipefail
echo "== links";  ip -d link show
echo "== addrs";  ip addr show
echo "== routes"; ip route show table all
echo "== rules";  ip rule show
echo "== neigh";  ip -4 neigh show nud permanent
echo "== sysctls"
for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/* /proc/sys/net/ipv6/conf/*/* /proc/sys/net/core/bpf_jit_enable; do
	[ -r "$f" ] && printf '%s=%s\n' "$f" "$(cat "$f" 2>/dev/null | tr '\n' ' ')"
done
