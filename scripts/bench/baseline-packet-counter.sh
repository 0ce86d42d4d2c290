#!/usr/bin/env bash
# The classic shell way to do what `xdplab up packet_counter` + `down` do, as
# the tutorials' setup scripts do it with iproute2: two namespaces, a veth
# pair with fixed MACs and addresses, the same per-namespace sysctls, the XDP
# program attached in generic mode, then everything deleted. The benchmark
# report times this against xdplab in the same run.
# usage: baseline-packet-counter.sh PREFIX OBJECT.o
set -euo pipefail
p=$1 obj=$2
host=$p-host node1=$p-node1
trap 'ip netns del "$host" 2>/dev/null || true; ip netns del "$node1" 2>/dev/null || true' EXIT

ip netns add "$host"
ip netns add "$node1"
for ns in "$host" "$node1"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$host" link add veth0 address 02:00:00:00:00:03 type veth peer name veth1 address 02:00:00:00:00:02 netns "$node1"
ip -n "$host" addr add 192.168.0.3/24 dev veth0
ip -n "$node1" addr add 192.168.0.2/24 dev veth1
ip -n "$host" link set veth0 up
ip -n "$node1" link set veth1 up
ip -n "$node1" link set veth1 xdpgeneric obj "$obj" sec xdp

ip -n "$node1" link set veth1 xdpgeneric off
ip netns del "$host"
ip netns del "$node1"
trap - EXIT
